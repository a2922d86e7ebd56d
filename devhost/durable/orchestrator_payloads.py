"""The orchestrator trigger's payloads: the context JSON devhost hands the SDK, and the SDK's answer.

The SDK returns its OrchestratorState JSON ({isDone, actions, output, error, customStatus, ...}); an
unhandled orchestrator error arrives as an exception whose message ends with that JSON after
``$OutOfProcData$:``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from devhost.durable.history import EventType, event
from devhost.durable.task_hub_store import InstanceRecord

OOP_MARKER = "$OutOfProcData$:"


def encode_context(
    record: InstanceRecord, history_json: list[str], new_events: list[dict[str, Any]], now: datetime
) -> str:
    """The trigger's JSON: the history (its events already encoded, one text each) with this episode's
    OrchestratorStarted and new events, the input and the host's protocol values."""
    started = event(EventType.OrchestratorStarted, now)
    parent = record.parent or {}
    # The same text json.dumps({"history": [...], ...}) gives, with the replayed part of the
    # history encoded once per event instead of once per episode.
    history = ", ".join([*history_json, json.dumps(started), *(json.dumps(e) for e in new_events)])
    rest = json.dumps(
        {
            "input": _context_input(record.input),
            "instanceId": record.instance_id,
            "isReplaying": bool(history_json),
            "parentInstanceId": parent.get("instance_id"),
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            # Azure Storage values: timers longer than 6 days are split by the SDK into 3-day ones.
            "longRunningTimerIntervalDuration": "3.00:00:00",
            "maximumShortTimerDuration": "6.00:00:00",
            "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
        }
    )
    return '{"history": [' + history + "], " + rest[1:]


def _context_input(text: str | None) -> Any:
    """The SDK df_loads a string input and json.dumps a dict one. Its own client sends the input's JSON
    text as a JSON string, handed over as that text; a bare JSON string that is not itself JSON (a start
    through the webhook with the body ``"hello"``) and other JSON values (numbers, lists) are handed over
    as their JSON text, so get_input() decodes each to the value that was sent."""
    if text is None:
        return None
    value = json.loads(text)
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and _is_json(value):
        return value
    return text


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def decode_answer(result: str | None, error: BaseException | None) -> tuple[dict[str, Any], str | None]:
    """The SDK's OrchestratorState, from its JSON or its `$OutOfProcData$` error form: (state, error)."""
    if error is None:
        try:
            state = json.loads(result) if isinstance(result, str) else result
        except ValueError:
            return {}, f"orchestrator returned invalid JSON: {result!r:.200}"
        if not isinstance(state, dict):
            return {}, f"orchestrator returned {type(state).__name__}, expected the SDK's state JSON"
        return state, None
    message = str(error)
    if OOP_MARKER in message:
        head, _, tail = message.partition(OOP_MARKER)
        try:
            state = json.loads(tail)
        except ValueError:
            return {}, head.strip()
        return state, str(state.get("error") or head.strip())
    return {}, f"{type(error).__name__}: {message}"
