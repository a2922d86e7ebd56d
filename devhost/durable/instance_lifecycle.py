"""An instance's runtime status changes: start, suspend and resume, and its end (complete, fail,
terminate, continue as new), which cancels its timers and reports to a parent orchestration."""

from __future__ import annotations

import json
import uuid
from typing import Any

from devhost.durable.action_scheduling import cancel_all_timers
from devhost.durable.episode_changes import EpisodeChanges
from devhost.durable.history import EventType, event
from devhost.durable.replay_bookkeeping import Book

MAX_CUSTOM_STATUS = 16 * 1024


def start(changes: EpisodeChanges) -> None:
    """The execution starts: Running."""
    changes.record.status = "Running"
    changes.note("started")


def suspend(changes: EpisodeChanges, reason: Any) -> None:
    """Suspend a running or pending instance, recording the reason."""
    rec = changes.record
    if rec.status in ("Running", "Pending"):
        rec.status = "Suspended"
        changes.events.append(event(EventType.ExecutionSuspended, changes.now, Input=reason))
        changes.note("suspended")


def resume(changes: EpisodeChanges, reason: Any, *, started: bool) -> None:
    """Resume a suspended instance (Running, or Pending when not started yet), recording the reason."""
    rec = changes.record
    if rec.status == "Suspended":
        rec.status = "Running" if started else "Pending"
        changes.events.append(event(EventType.ExecutionResumed, changes.now, Input=reason))
        changes.note("resumed")


def set_custom_status(changes: EpisodeChanges, custom: Any) -> str | None:
    """Keep the orchestrator's custom status; a message when it is over the host's limit."""
    rec = changes.record
    text = json.dumps(custom)
    rec.custom_status = text
    if len(text) > MAX_CUSTOM_STATUS:
        return (
            f"The custom status of orchestration '{rec.name}' is {len(text)} bytes; "
            f"the limit is {MAX_CUSTOM_STATUS}."
        )
    return None


def complete(changes: EpisodeChanges, output: Any) -> None:
    """Complete the instance with ``output``, and answer its parent."""
    rec = changes.record
    text = json.dumps(output)
    rec.status = "Completed"
    rec.output = text
    changes.events.append(
        event(EventType.ExecutionCompleted, changes.now, OrchestrationStatus="Completed", Result=text)
    )
    _end(changes, "completed")
    _notify_parent(changes, EventType.SubOrchestrationInstanceCompleted, Result=text)


def fail(
    changes: EpisodeChanges, message: str, details: str | None, *, error_type: str | None = None
) -> None:
    """Fail the instance with ``message`` (and details), and answer its parent with the failure."""
    rec = changes.record
    rec.status = "Failed"
    rec.output = json.dumps(message)
    changes.events.append(
        event(
            EventType.ExecutionCompleted,
            changes.now,
            OrchestrationStatus="Failed",
            Result=message,
            FailureDetails={"ErrorMessage": message, **({"ErrorType": error_type} if error_type else {})},
        )
    )
    _end(changes, f"failed: {message}")
    _notify_parent(changes, EventType.SubOrchestrationInstanceFailed, Reason=message, Details=details)


def terminate(changes: EpisodeChanges, reason: str) -> None:
    """Terminate the instance with ``reason``, and answer its parent as failed."""
    rec = changes.record
    rec.status = "Terminated"
    rec.output = json.dumps(reason)
    changes.events.append(event(EventType.ExecutionTerminated, changes.now, Input=json.dumps(reason)))
    _end(changes, f"terminated ({reason})")
    message = f"Orchestration '{rec.name}' was terminated: {reason}"
    _notify_parent(changes, EventType.SubOrchestrationInstanceFailed, Reason=message, Details=None)


def continue_as_new(changes: EpisodeChanges, action: dict[str, Any]) -> None:
    """A new execution of the instance: new execution id, input and book, an empty history, the same
    version; events raised and not yet awaited go along when the orchestrator asked to preserve them."""
    cancel_all_timers(changes)
    carried = changes.book.held if action.get("preserveUnprocessedEvents") else []
    rec = changes.record
    rec.execution_id = uuid.uuid4().hex
    rec.input = json.dumps(action.get("input"))
    rec.status = "ContinuedAsNew"
    changes.book = Book()
    changes.reset_history = True
    changes.events = []
    changes.message_self(
        event(EventType.ExecutionStarted, changes.now, Name=rec.name, Input=rec.input, Version=rec.version)
    )
    for held in carried:
        changes.message_self(held)
    changes.note("continued as new")


def _end(changes: EpisodeChanges, what: str) -> None:
    cancel_all_timers(changes)
    changes.book.held.clear()
    changes.note(what)


def _notify_parent(changes: EpisodeChanges, kind: EventType, **fields: Any) -> None:
    parent = changes.record.parent
    if not parent:
        return
    ev = event(kind, changes.now, TaskScheduledId=parent["task_id"], **fields)
    changes.work(parent["instance_id"], "msg", {"event": ev, "execution_id": parent["execution_id"]})
