"""An orchestration's entity operations: signal_entity and call_entity, as the extension records them.

The operation is recorded in the orchestration's history as an EventSent (its EventId the task id, its
Input the request message, whose ``id`` the SDK reads to match the answer) and queued for the entity in
the same commit as the episode. A call's answer arrives as an EventRaised named by the request id; the
book remembers which request ids are awaited, so that answer is delivered at once and never held like an
external event.
"""

from __future__ import annotations

import json
from typing import Any

from devhost.durable.entities import NOT_AN_ENTITY, request_item
from devhost.durable.entity_messages import REQUEST_EVENT_NAME, split_scheduler_id
from devhost.durable.episode_changes import EpisodeChanges
from devhost.durable.history import EventType, event
from devhost.durable.orchestrator_actions import SIGNAL_ENTITY
from devhost.durable.replay_bookkeeping import Book


def entity_problem(changes: EpisodeChanges, action: dict[str, Any]) -> str | None:
    """Why the orchestration fails on this entity action (the extension checks the entity function
    exists when the orchestrator signals or calls it), or None."""
    target = action.get("instanceId") or ""
    try:
        name, _ = split_scheduler_id(target)
    except ValueError as exc:
        return f"Orchestration '{changes.record.name}': {exc}"
    if not changes.host.has_entity(name):
        return f"Orchestration '{changes.record.name}' uses entity '{target}': {NOT_AN_ENTITY.format(name)}"
    return None


def schedule_entity_operation(
    changes: EpisodeChanges, tid: int, action: dict[str, Any], *, dispatch: bool
) -> None:
    """Record an orchestration's signal or call as an EventSent and, when ``dispatch``, queue the operation
    for the entity (a call's request id is then awaited in the book)."""
    rec = changes.record
    name, key = split_scheduler_id(action["instanceId"])
    signal = action["actionType"] == SIGNAL_ENTITY
    # The SDK sends the input as JSON text; the extension passes that text on as a JSON string value.
    given = action.get("input")
    item, request = request_item(
        changes.host.alloc_work_id(),
        name,
        key,
        action.get("operation") or "",
        None if given is None else json.dumps(given),
        changes.now,
        signal=signal,
        parent=rec.instance_id,
        parent_execution=rec.execution_id,
    )
    changes.events.append(
        event(
            EventType.EventSent,
            changes.now,
            tid,
            InstanceId=item.instance_id,
            Name=REQUEST_EVENT_NAME,
            Input=json.dumps(request.wire()),
        )
    )
    if not signal:
        changes.book.calls[request.id] = tid
    if dispatch:
        changes.batch.add_work.append(item)


def is_answer(book: Book, e: dict[str, Any]) -> bool:
    """Whether a delivered event answers one of the orchestration's entity calls (it is then no longer
    awaited)."""
    if e["EventType"] != EventType.EventRaised or e.get("Name") not in book.calls:
        return False
    book.calls.pop(e["Name"])
    return True
