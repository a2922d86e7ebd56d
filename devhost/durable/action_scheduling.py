"""Scheduling an orchestrator's new actions: history events, and the work they dispatch.

Task ids follow the SDK's own numbering (it is the SDK that replays the history): every scheduled
leaf action (activity, timer, sub-orchestration, entity call or signal) takes the next id in the order
the SDK lists it; waits for external events and continue-as-new take none. A pending durable timer is a queued
message due at its fire time; the book keeps its work id so that cancelling it removes the message.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from devhost.durable.durable_http import HTTP_ACTIVITY
from devhost.durable.entity_calls import entity_problem, schedule_entity_operation
from devhost.durable.episode_changes import EpisodeChanges
from devhost.durable.history import EventType, event, fmt_time, json_text, parse_time
from devhost.durable.new_instances import NOT_AN_ORCHESTRATOR, TERMINAL, create_instance
from devhost.durable.orchestration_versions import new_instance_version
from devhost.durable.orchestrator_actions import (
    ACTION_NAMES,
    CALL_ACTIVITY,
    CALL_ACTIVITY_RETRY,
    CALL_ENTITY,
    CALL_HTTP,
    CALL_SUB,
    CALL_SUB_RETRY,
    CREATE_TIMER,
    SIGNAL_ENTITY,
    WAIT_EVENT,
    target_name,
)
from devhost.durable.replay_bookkeeping import Book


def unsupported(changes: EpisodeChanges, action: dict[str, Any]) -> str | None:
    """Why devhost cannot run this action (the instance then fails with this message), or None."""
    kind = action.get("actionType")
    orchestration = changes.record.name
    if kind in (CALL_ENTITY, SIGNAL_ENTITY):
        return entity_problem(changes, action)
    if kind not in ACTION_NAMES:
        return f"Orchestration '{orchestration}' returned an unknown action type {kind!r}."
    return None


def schedule_action(changes: EpisodeChanges, action: dict[str, Any], *, dispatch: bool) -> int | None:
    """Record a new (supported, not continue-as-new) action in the book and the history; with
    ``dispatch`` also queue its work. The task id it took, None for a wait."""
    kind = action["actionType"]
    name = target_name(action)
    book = changes.book
    if kind == WAIT_EVENT:
        book.actions.append([kind, name, None])
        book.waits[name] = book.waits.get(name, 0) + 1
        return None
    tid = changes.next_task_id()
    book.actions.append([kind, name, tid])
    if kind in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY):
        schedule_activity(changes, tid, name, action.get("input"), dispatch=dispatch)
    elif kind == CALL_HTTP:
        # The extension schedules durable HTTP as its built-in activity, the request as the input.
        request = json.dumps(action.get("httpRequest") or {})
        schedule_activity(changes, tid, HTTP_ACTIVITY, request, dispatch=dispatch)
    elif kind in (CALL_SUB, CALL_SUB_RETRY):
        schedule_sub_orchestration(
            changes,
            tid,
            name,
            action.get("input"),
            action.get("instanceId"),
            new_instance_version(changes.host.settings, action.get("version")),
            dispatch=dispatch,
        )
    elif kind in (CALL_ENTITY, SIGNAL_ENTITY):
        schedule_entity_operation(changes, tid, action, dispatch=dispatch)
    elif kind == CREATE_TIMER:
        schedule_timer(
            changes, tid, parse_time(action["fireAt"]), dispatch=dispatch and not action.get("isCanceled")
        )
    return tid


def schedule_activity(
    changes: EpisodeChanges, tid: int, name: str, input_text: Any, *, dispatch: bool = True
) -> None:
    """Record a TaskScheduled for the activity and, when ``dispatch``, queue it to run."""
    rec = changes.record
    changes.events.append(event(EventType.TaskScheduled, changes.now, tid, Name=name, Input=input_text))
    if dispatch:
        changes.work(
            rec.instance_id,
            "activity",
            {
                "name": name,
                "input": input_text,
                "task_id": tid,
                "execution_id": rec.execution_id,
                "instance_id": rec.instance_id,
            },
        )


def schedule_timer(changes: EpisodeChanges, tid: int, fire_at: datetime, *, dispatch: bool = True) -> None:
    """Record a TimerCreated and, when ``dispatch``, queue its TimerFired, due at ``fire_at``; the book
    keeps the message's work id so that a cancelled timer's message can be removed."""
    changes.events.append(event(EventType.TimerCreated, changes.now, tid, FireAt=fmt_time(fire_at)))
    if dispatch:
        fired = event(EventType.TimerFired, fire_at, TimerId=tid, FireAt=fmt_time(fire_at))
        changes.book.timers[str(tid)] = changes.message_self(fired, due=fire_at).id


def schedule_sub_orchestration(
    changes: EpisodeChanges,
    tid: int,
    name: str,
    input_text: Any,
    instance_id: str | None,
    version: str | None = None,
    *,
    dispatch: bool = True,
) -> None:
    """Record a SubOrchestrationInstanceCreated and, when ``dispatch``, create the child instance; a child
    that cannot start (no such orchestrator, or one live under that id) fails at once."""
    rec, now = changes.record, changes.now
    child_id = instance_id or f"{rec.instance_id}:{tid}"
    changes.events.append(
        event(
            EventType.SubOrchestrationInstanceCreated,
            now,
            tid,
            Name=name,
            Input=input_text,
            InstanceId=child_id,
            Version=version,
        )
    )
    if not dispatch:
        return
    failed = None
    existing = changes.batch.instances.get(child_id) or changes.host.get_record(child_id)
    if not changes.host.has_orchestrator(name):
        failed = NOT_AN_ORCHESTRATOR.format(name)
    elif existing is not None and existing.status not in TERMINAL:
        failed = f"An orchestration with instance ID '{child_id}' already exists and is {existing.status}."
    if failed:
        changes.message_self(
            event(
                EventType.SubOrchestrationInstanceFailed,
                now,
                TaskScheduledId=tid,
                Reason=failed,
                Details=None,
            )
        )
        return
    parent = {"instance_id": rec.instance_id, "execution_id": rec.execution_id, "task_id": tid}
    create_instance(
        changes.batch,
        changes.host.alloc_work_id,
        name,
        child_id,
        json_text(input_text),
        now,
        parent=parent,
        version=version,
    )


def timer_fired(book: Book, e: dict[str, Any]) -> None:
    """A delivered TimerFired: the timer is no longer pending."""
    if e["EventType"] == EventType.TimerFired:
        book.timers.pop(str(e.get("TimerId")), None)


def cancel_timer(changes: EpisodeChanges, tid: int | None) -> None:
    """Remove a pending timer's queued message (nothing when it has fired or is unknown)."""
    work_id = changes.book.timers.pop(str(tid), None)
    if work_id is not None:
        changes.batch.del_work.append(work_id)


def cancel_timers(changes: EpisodeChanges, actions: list[dict[str, Any]]) -> None:
    """Cancel the pending timers the orchestrator cancelled among the actions the book knows (the
    SDK lists them in the book's order: the i-th action is the book's i-th)."""
    for action, known in zip(actions, changes.book.actions, strict=False):
        if action.get("actionType") == CREATE_TIMER and action.get("isCanceled"):
            cancel_timer(changes, known[2])


def cancel_all_timers(changes: EpisodeChanges) -> None:
    """Remove every pending timer of the execution (it has ended)."""
    for tid in list(changes.book.timers):
        cancel_timer(changes, int(tid))
