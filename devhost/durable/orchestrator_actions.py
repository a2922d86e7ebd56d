"""The actions an orchestrator's SDK answers with: their type numbers, names and compound forms."""

from __future__ import annotations

from typing import Any

# ActionType values of the SDK (azure/durable_functions/models/actions/ActionType.py).
CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY = 0, 1, 2, 3
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_EVENT, CALL_ENTITY, CALL_HTTP, SIGNAL_ENTITY = 4, 5, 6, 7, 8, 9
WHEN_ANY, WHEN_ALL = 11, 12
ACTION_NAMES = {
    0: "CallActivity",
    1: "CallActivityWithRetry",
    2: "CallSubOrchestrator",
    3: "CallSubOrchestratorWithRetry",
    4: "ContinueAsNew",
    5: "CreateTimer",
    6: "WaitForExternalEvent",
    7: "CallEntity",
    8: "CallHttp",
    9: "SignalEntity",
}


def target_name(action: dict[str, Any]) -> str:
    """The function an action calls, the entity (@name@key) it calls or signals, or the event it waits for
    ("" for none of these)."""
    if action.get("actionType") in (CALL_ENTITY, SIGNAL_ENTITY):
        return action.get("instanceId") or ""
    return action.get("functionName") or action.get("externalEventName") or ""


def kind_and_name(kind: Any, name: str | None) -> str:
    """An action as a message names it: its kind, and its target in quotes when it has one."""
    label = ACTION_NAMES.get(kind, f"action type {kind}")
    return f"{label} '{name}'" if name else label


def action_label(action: dict[str, Any]) -> str:
    """An action as messages name it: its kind and its target (``activity 'Hello'``)."""
    return kind_and_name(action.get("actionType"), target_name(action))


def flatten(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The leaf actions in the order the SDK lists them, WhenAll / WhenAny groups opened."""
    out: list[dict[str, Any]] = []
    stack = list(reversed(actions))
    while stack:
        a = stack.pop()
        if a.get("actionType") in (WHEN_ALL, WHEN_ANY):
            stack.extend(reversed(a.get("compoundActions") or []))
        else:
            out.append(a)
    return out
