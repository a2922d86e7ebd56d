"""History events in the host's shape: PascalCase keys, integer EventType, JSON text payloads."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any


class EventType(IntEnum):
    """The history event types, numbered as DurableTask.Core numbers them."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20


_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def fmt_time(value: datetime) -> str:
    """The SDK's own DATETIME_STRING_FORMAT (microseconds, trailing Z)."""
    return value.astimezone(UTC).strftime(_FORMAT)


def fmt_public_time(value: datetime) -> str:
    """Status API times, as the extension prints them (seconds, trailing Z)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """A time the host wrote (a trailing Z, or none: UTC), timezone-aware."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def event(kind: EventType, when: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    """A history event in the host's shape, stamped ``when``."""
    return {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": fmt_time(when),
        **fields,
    }


def json_text(value: Any) -> str:
    """A value as JSON text."""
    return json.dumps(value)


def loads_or_text(text: Any) -> Any:
    """The value of stored JSON text; text that is not JSON as it is (None stays None)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


# Recorded for the host's own bookkeeping: left out of the status API's history (a completion is shown
# with the name and time of the event that scheduled it).
_SCHEDULING = (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated)
_EPISODE_MARKS = (EventType.OrchestratorStarted, EventType.OrchestratorCompleted)
# Kinds whose events show the same fields.
_COMPLETIONS = (
    EventType.TaskCompleted,
    EventType.TaskFailed,
    EventType.SubOrchestrationInstanceCompleted,
    EventType.SubOrchestrationInstanceFailed,
)
_STATUS_CHANGES = (EventType.ExecutionTerminated, EventType.ExecutionSuspended, EventType.ExecutionResumed)


@dataclass
class _Shown:
    """What a status query shows of each event, and the scheduling events met so far (a completion's
    FunctionName and ScheduledTime come from them)."""

    name: str  # the orchestration's name, for an ExecutionStarted that does not carry it
    show_output: bool
    show_input: bool
    scheduled: dict[int, dict[str, Any]] = field(default_factory=dict)


def public_history(
    events: list[dict[str, Any]], name: str, *, show_output: bool, show_input: bool
) -> list[dict[str, Any]]:
    """The status API's `historyEvents`: EventType names, FunctionName joined from the scheduling
    event, host bookkeeping events (OrchestratorStarted/Completed, TaskScheduled, ...) left out."""
    shown = _Shown(name, show_output, show_input)
    out: list[dict[str, Any]] = []
    for e in events:
        kind = EventType(e["EventType"])
        if kind in _SCHEDULING:
            shown.scheduled[e["EventId"]] = e
            continue
        if kind in _EPISODE_MARKS:
            continue
        item: dict[str, Any] = {"EventType": kind.name, "EventId": e.get("EventId", -1)}
        item.update(_public_fields(kind, e, shown))
        item["Timestamp"] = e.get("Timestamp")
        out.append(item)
    return out


def _public_fields(kind: EventType, e: dict[str, Any], shown: _Shown) -> dict[str, Any]:
    """The fields the status API shows for one event of this kind, in the extension's order."""
    fields = _FIELDS_BY_KIND.get(kind)
    return fields(kind, e, shown) if fields is not None else {}


def _started_fields(kind: EventType, e: dict[str, Any], shown: _Shown) -> dict[str, Any]:
    """The orchestration's name and (when shown) its input."""
    item: dict[str, Any] = {"FunctionName": e.get("Name", shown.name)}
    if shown.show_input:
        item["Input"] = loads_or_text(e.get("Input"))
    return item


def _timer_fields(kind: EventType, e: dict[str, Any], shown: _Shown) -> dict[str, Any]:
    """When the timer fires, and (once it has) which timer it was."""
    item: dict[str, Any] = {"FireAt": e.get("FireAt")}
    if kind == EventType.TimerFired:
        item["TimerId"] = e.get("TimerId")
    return item


def _message_fields(kind: EventType, e: dict[str, Any], shown: _Shown) -> dict[str, Any]:
    """An event raised to the orchestration, or an entity operation it sent (with the entity's id)."""
    item: dict[str, Any] = {}
    if kind == EventType.EventSent:  # an entity operation the orchestration sent
        item["InstanceId"] = e.get("InstanceId")
    item["Name"] = e.get("Name")
    if shown.show_output:
        item["Input"] = loads_or_text(e.get("Input"))
    return item


def _finished_fields(kind: EventType, e: dict[str, Any], shown: _Shown) -> dict[str, Any]:
    """How the execution ended: its status, its output (when shown), and its failure's details."""
    item: dict[str, Any] = {"OrchestrationStatus": e.get("OrchestrationStatus")}
    if shown.show_output:
        item["Result"] = loads_or_text(e.get("Result"))
    if e.get("FailureDetails"):
        item["FailureDetails"] = e["FailureDetails"]
    return item


def _generic_fields(kind: EventType, e: dict[str, Any], shown: _Shown) -> dict[str, Any]:
    """A generic event's data."""
    return {"Data": e.get("Data")}


def _status_change_fields(kind: EventType, e: dict[str, Any], shown: _Shown) -> dict[str, Any]:
    """The reason given for a terminate, suspend or resume."""
    return {"Reason": loads_or_text(e.get("Input"))}


def _completion_fields(kind: EventType, e: dict[str, Any], shown: _Shown) -> dict[str, Any]:
    """An activity's or sub-orchestration's result or failure, named after the event that scheduled it."""
    source = shown.scheduled.get(e.get("TaskScheduledId", -2), {})
    item: dict[str, Any] = {"FunctionName": source.get("Name"), "ScheduledTime": source.get("Timestamp")}
    if source.get("InstanceId"):
        item["InstanceId"] = source["InstanceId"]
    if kind in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted):
        if shown.show_output:
            item["Result"] = loads_or_text(e.get("Result"))
    else:
        item["Reason"] = e.get("Reason")
        item["Details"] = e.get("Details")
    return item


_FIELDS_BY_KIND: dict[EventType, Callable[[EventType, dict[str, Any], _Shown], dict[str, Any]]] = {
    EventType.ExecutionStarted: _started_fields,
    **dict.fromkeys(_COMPLETIONS, _completion_fields),
    EventType.TimerCreated: _timer_fields,
    EventType.TimerFired: _timer_fields,
    EventType.EventSent: _message_fields,
    EventType.EventRaised: _message_fields,
    EventType.ExecutionCompleted: _finished_fields,
    EventType.GenericEvent: _generic_fields,
    **dict.fromkeys(_STATUS_CHANGES, _status_change_fields),
}
