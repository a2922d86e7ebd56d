"""History events in the host's shape: PascalCase keys, integer EventType, JSON text payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any


class EventType(IntEnum):
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
    value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def event(kind: EventType, when: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": fmt_time(when),
        **fields,
    }


def json_text(value: Any) -> str:
    return json.dumps(value)


def loads_or_text(text: Any) -> Any:
    """The value of stored JSON text; text that is not JSON as it is (None stays None)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def public_history(
    events: list[dict[str, Any]], name: str, *, show_output: bool, show_input: bool
) -> list[dict[str, Any]]:
    """The status API's `historyEvents`: EventType names, FunctionName joined from the scheduling
    event, host bookkeeping events (OrchestratorStarted/Completed, TaskScheduled, ...) left out."""
    scheduled: dict[int, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for e in events:
        kind = EventType(e["EventType"])
        item: dict[str, Any] = {"EventType": kind.name, "EventId": e.get("EventId", -1)}
        if kind in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated):
            scheduled[e["EventId"]] = e
            continue
        if kind in (EventType.OrchestratorStarted, EventType.OrchestratorCompleted):
            continue
        if kind == EventType.ExecutionStarted:
            item["FunctionName"] = e.get("Name", name)
            if show_input:
                item["Input"] = loads_or_text(e.get("Input"))
        elif kind in (
            EventType.TaskCompleted,
            EventType.TaskFailed,
            EventType.SubOrchestrationInstanceCompleted,
            EventType.SubOrchestrationInstanceFailed,
        ):
            source = scheduled.get(e.get("TaskScheduledId", -2), {})
            item["FunctionName"] = source.get("Name")
            item["ScheduledTime"] = source.get("Timestamp")
            if source.get("InstanceId"):
                item["InstanceId"] = source["InstanceId"]
            if kind in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted):
                if show_output:
                    item["Result"] = loads_or_text(e.get("Result"))
            else:
                item["Reason"] = e.get("Reason")
                item["Details"] = e.get("Details")
        elif kind in (EventType.TimerCreated, EventType.TimerFired):
            item["FireAt"] = e.get("FireAt")
            if kind == EventType.TimerFired:
                item["TimerId"] = e.get("TimerId")
        elif kind == EventType.EventSent:  # an entity operation the orchestration sent
            item["InstanceId"] = e.get("InstanceId")
            item["Name"] = e.get("Name")
            if show_output:
                item["Input"] = loads_or_text(e.get("Input"))
        elif kind == EventType.EventRaised:
            item["Name"] = e.get("Name")
            if show_output:
                item["Input"] = loads_or_text(e.get("Input"))
        elif kind == EventType.ExecutionCompleted:
            item["OrchestrationStatus"] = e.get("OrchestrationStatus")
            if show_output:
                item["Result"] = loads_or_text(e.get("Result"))
            if e.get("FailureDetails"):
                item["FailureDetails"] = e["FailureDetails"]
        elif kind == EventType.GenericEvent:
            item["Data"] = e.get("Data")
        elif kind in (
            EventType.ExecutionTerminated,
            EventType.ExecutionSuspended,
            EventType.ExecutionResumed,
        ):
            item["Reason"] = loads_or_text(e.get("Input"))
        item["Timestamp"] = e.get("Timestamp")
        out.append(item)
    return out
