"""History events in the host's shape: PascalCase keys, integer EventType, JSON text payloads."""

from __future__ import annotations

import json
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


# Recorded for the host's own bookkeeping: left out of the status API's history.
_SCHEDULING = (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated)
_EPISODE_MARKS = (EventType.OrchestratorStarted, EventType.OrchestratorCompleted)
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
    item: dict[str, Any] = {}
    if kind == EventType.ExecutionStarted:
        item["FunctionName"] = e.get("Name", shown.name)
        if shown.show_input:
            item["Input"] = loads_or_text(e.get("Input"))
    elif kind in _COMPLETIONS:
        item.update(_completion_fields(kind, e, shown))
    elif kind in (EventType.TimerCreated, EventType.TimerFired):
        item["FireAt"] = e.get("FireAt")
        if kind == EventType.TimerFired:
            item["TimerId"] = e.get("TimerId")
    elif kind in (EventType.EventSent, EventType.EventRaised):
        if kind == EventType.EventSent:  # an entity operation the orchestration sent
            item["InstanceId"] = e.get("InstanceId")
        item["Name"] = e.get("Name")
        if shown.show_output:
            item["Input"] = loads_or_text(e.get("Input"))
    elif kind == EventType.ExecutionCompleted:
        item["OrchestrationStatus"] = e.get("OrchestrationStatus")
        if shown.show_output:
            item["Result"] = loads_or_text(e.get("Result"))
        if e.get("FailureDetails"):
            item["FailureDetails"] = e["FailureDetails"]
    elif kind == EventType.GenericEvent:
        item["Data"] = e.get("Data")
    elif kind in _STATUS_CHANGES:
        item["Reason"] = loads_or_text(e.get("Input"))
    return item


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
