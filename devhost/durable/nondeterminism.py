"""The non-determinism check: a replay must schedule the actions the history already has, in order."""

from __future__ import annotations

from typing import Any

from devhost.durable.orchestrator_actions import ACTION_NAMES, action_label, kind_and_name, target_name


def replay_mismatch(
    known: list[list[Any]], actions: list[dict[str, Any]], *, may_stop_early: bool
) -> str | None:
    """What differs between the book's known actions ([type, name, id]) and the replay's leaf actions,
    or None. ``may_stop_early``: the orchestrator finished or failed, so fewer actions are fine."""
    for i, (old, new) in enumerate(zip(known, actions, strict=False)):
        if old[0] != new.get("actionType") or (old[1] or "") != target_name(new):
            return (
                f"Non-deterministic workflow detected: action #{i} in the history is "
                f"{kind_and_name(old[0], old[1])} but the orchestrator now scheduled {action_label(new)}. "
                f"Orchestrator code must be deterministic (no branching on time, random values, environment "
                f"or global state)."
            )
    if len(actions) < len(known) and not may_stop_early:
        missing = known[len(actions)]
        return (
            f"Non-deterministic workflow detected: the history has "
            f"{ACTION_NAMES.get(missing[0], missing[0])} '{missing[1] or ''}' at action #{len(actions)} "
            f"but the orchestrator no longer schedules it."
        )
    return None
