"""durabletask's recorded history as ours (``engine.durable.history.HistoryEvent``), the form the fold reads.

durabletask records what the orchestrator scheduled and, separately, what completed (by the scheduled
event's id); the Durable Functions status API, which ``HistoryEvent`` was written for, names the function
on the completion itself. So completions are joined with their scheduling here. Backends may not stamp
every event (durabletask's in-memory backend stamps only ``OrchestratorStarted``); an event without a
time takes its episode's, which is the orchestrator's own clock when it read the event.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from durabletask import history as dt
from durabletask import task

from engine.durable.history import HistoryEvent
from engine.durable_task.context import aware

_STATUS_NAMES = {0: "Running", 1: "Completed", 2: "ContinuedAsNew", 3: "Failed", 5: "Terminated"}


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _fire_at(moment: datetime) -> str:
    # Created and fired timers are matched on this text: one format for both.
    return aware(moment).isoformat()


def _failure(details: task.FailureDetails | None) -> tuple[str | None, str | None]:
    if details is None:
        return None, None
    return details.message, details.stack_trace


def converted(events: list[dt.HistoryEvent]) -> list[HistoryEvent]:
    """The current execution's history in our form (the events the fold and the views read)."""
    out: list[HistoryEvent] = []
    scheduled: dict[int, tuple[str, datetime | None]] = {}
    children: dict[int, tuple[str, str]] = {}
    now: datetime | None = None
    for event in events:
        stamp = aware(event.timestamp) if event.timestamp is not None else None
        if stamp is not None and stamp.year > 1970:
            now = stamp
        elif now is not None:
            stamp = now
        row = _row(event, stamp, scheduled, children)
        if row is not None:
            out.append(HistoryEvent.model_validate(row))
    return out


def _row(
    event: dt.HistoryEvent,
    stamp: datetime | None,
    scheduled: dict[int, tuple[str, datetime | None]],
    children: dict[int, tuple[str, str]],
) -> dict[str, Any] | None:
    """One event as the status API shows it (None for bookkeeping the fold does not read)."""
    base: dict[str, Any] = {"Timestamp": stamp}
    if isinstance(event, dt.ExecutionStartedEvent):
        return {**base, "EventType": "ExecutionStarted", "FunctionName": event.name, "Input": event.input}
    if isinstance(event, dt.TaskScheduledEvent):
        scheduled[event.event_id] = (event.name, stamp)
        return None
    if isinstance(event, dt.TaskCompletedEvent | dt.TaskFailedEvent):
        name, at = scheduled.get(event.task_scheduled_id, ("", None))
        row = {**base, "FunctionName": name, "ScheduledTime": at}
        if isinstance(event, dt.TaskCompletedEvent):
            return {**row, "EventType": "TaskCompleted", "Result": event.result}
        reason, details = _failure(event.failure_details)
        return {**row, "EventType": "TaskFailed", "Reason": reason, "Details": details}
    if isinstance(event, dt.SubOrchestrationInstanceCreatedEvent):
        children[event.event_id] = (event.name, event.instance_id)
        return None
    if isinstance(event, dt.SubOrchestrationInstanceCompletedEvent | dt.SubOrchestrationInstanceFailedEvent):
        name, instance_id = children.get(event.task_scheduled_id, ("", ""))
        row = {**base, "FunctionName": name, "InstanceId": instance_id}
        if isinstance(event, dt.SubOrchestrationInstanceCompletedEvent):
            return {**row, "EventType": "SubOrchestrationInstanceCompleted", "Result": event.result}
        reason, details = _failure(event.failure_details)
        return {**row, "EventType": "SubOrchestrationInstanceFailed", "Reason": reason, "Details": details}
    return _other(event, base)


def _other(event: dt.HistoryEvent, base: dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(event, dt.TimerCreatedEvent):
        return {**base, "EventType": "TimerCreated", "FireAt": _fire_at(event.fire_at)}
    if isinstance(event, dt.TimerFiredEvent):
        return {**base, "EventType": "TimerFired", "FireAt": _fire_at(event.fire_at)}
    if isinstance(event, dt.EventRaisedEvent):
        return {**base, "EventType": "EventRaised", "Name": event.name, "Input": event.input}
    if isinstance(event, dt.ExecutionCompletedEvent):
        status = _STATUS_NAMES.get(event.orchestration_status, "Completed")
        reason, _ = _failure(event.failure_details)
        result = event.result if event.failure_details is None else json.dumps(reason)
        return {**base, "EventType": "ExecutionCompleted", "OrchestrationStatus": status, "Result": result}
    if isinstance(event, dt.ExecutionTerminatedEvent):
        return {**base, "EventType": "ExecutionTerminated", "Input": _text(event.input)}
    return None


__all__ = ["converted"]
