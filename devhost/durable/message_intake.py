"""Taking in an instance's queued messages at the start of an episode.

Controls (terminate, suspend, resume) act at once; results and events of an earlier execution, and
anything for a finished instance, are dropped; while the instance is suspended or not yet started its
messages stay queued. External events are held in the book until the orchestrator waits for them (the
SDK keeps just one early event per name) and are then delivered in the order they were raised; the answers
to the orchestrator's entity calls (events too) are delivered as they come.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devhost.durable import instance_lifecycle
from devhost.durable.call_retries import reserves_ids
from devhost.durable.entity_calls import is_answer
from devhost.durable.episode_changes import EpisodeChanges
from devhost.durable.history import EventType
from devhost.durable.new_instances import TERMINAL
from devhost.durable.replay_bookkeeping import Book
from devhost.durable.task_hub_store import WorkItem


@dataclass
class Intake:
    """What an episode takes in: the events it delivers, whether they start the execution, and the
    messages left queued for a later episode."""

    events: list[dict[str, Any]] = field(default_factory=list)  # for the orchestrator, in delivery order
    started: bool = False  # the execution starts with them
    leftover: list[WorkItem] = field(default_factory=list)  # kept queued for later


def take_in(changes: EpisodeChanges, msgs: list[WorkItem], *, has_history: bool) -> Intake:
    """Take in an instance's queued messages: controls applied, the rest delivered, held or kept queued
    (see the module docstring); every message is deleted unless it is kept."""
    rec = changes.record
    changes.batch.del_work.extend(m.id for m in msgs)
    events = _apply_controls(changes, msgs, has_history=has_history)
    if events is None or rec.status in TERMINAL:
        return Intake()
    if rec.status == "Suspended":
        return _keep_queued(changes, msgs)  # until resumed; only the suspension is recorded
    started = _start(events, has_history=has_history)
    if not has_history and not started:
        return _keep_queued(changes, msgs)  # nothing runs before the execution starts
    return Intake(started + _delivered_now(changes.book, events), bool(started))


def _start(events: list[dict[str, Any]], *, has_history: bool) -> list[dict[str, Any]]:
    """The ExecutionStarted the episode delivers: none once the execution has a history (a duplicate
    start message, from a queue replayed after a crash, is ignored)."""
    if has_history:
        return []
    return [e for e in events if e["EventType"] == EventType.ExecutionStarted]


def _apply_controls(
    changes: EpisodeChanges, msgs: list[WorkItem], *, has_history: bool
) -> list[dict[str, Any]] | None:
    """The controls among the messages applied in queue order; the events of the others that belong to
    the current execution. None when a terminate ended the instance (nothing else is taken in)."""
    rec = changes.record
    events: list[dict[str, Any]] = []
    for m in msgs:
        control = m.payload.get("control")
        if rec.status in TERMINAL:
            continue  # late results, events or controls for a finished instance are dropped
        if control == "terminate":
            instance_lifecycle.terminate(changes, str(m.payload.get("reason", "")))
            return None
        if control == "suspend":
            instance_lifecycle.suspend(changes, m.payload.get("reason"))
            continue
        if control == "resume":
            instance_lifecycle.resume(changes, m.payload.get("reason"), started=has_history)
            continue
        execution = m.payload.get("execution_id")
        if execution is not None and execution != rec.execution_id:
            continue  # a completion for an earlier execution (before continue-as-new / restart)
        events.append(m.payload["event"])
    return events


def _delivered_now(book: Book, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the episode delivers besides the start: results and the answers to entity calls (those whose
    delivery reserves retry task ids first, see call_retries), then the held external events the
    orchestrator now waits for, in the order they were raised. The other external events are held first."""
    answers = {id(e) for e in events if is_answer(book, e)}
    raised = [e for e in events if e["EventType"] == EventType.EventRaised and id(e) not in answers]
    others = [
        e
        for e in events
        if e["EventType"] not in (EventType.ExecutionStarted, EventType.EventRaised) or id(e) in answers
    ]
    book.held.extend(raised)
    return _reserving_first(book, others) + _take_awaited(book)


def _keep_queued(changes: EpisodeChanges, msgs: list[WorkItem]) -> Intake:
    """The messages other than controls stay queued (not deleted), for the episode that can take them."""
    keep = [m for m in msgs if "control" not in m.payload]
    keep_ids = {m.id for m in keep}
    changes.batch.del_work = [w for w in changes.batch.del_work if w not in keep_ids]
    return Intake(leftover=keep)


def _reserving_first(book: Book, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events whose delivery reserves retry task ids first, so those ids precede the new actions'."""
    first, rest = [], []
    for e in events:
        (first if reserves_ids(book, e) else rest).append(e)
    return first + rest


def _take_awaited(book: Book) -> list[dict[str, Any]]:
    """The held events the orchestrator now waits for, in the order they were raised."""
    out, keep = [], []
    budget = {n: book.waits.get(n, 0) - book.delivered.get(n, 0) for n in book.waits}
    for e in book.held:
        name = e["Name"]
        if budget.get(name, 0) > 0:
            budget[name] -= 1
            book.delivered[name] = book.delivered.get(name, 0) + 1
            out.append(e)
        else:
            keep.append(e)
    book.held = keep
    return out
