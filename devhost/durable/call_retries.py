"""Retry emulation for call_activity_with_retry / call_sub_orchestrator_with_retry.

The SDK leaves retries to the host: after a failed attempt devhost creates the backoff timer
(DTFx RetryInterceptor's delay), and when it fires schedules the next attempt under a new task id.
The SDK reserves those task ids itself while it replays a failure (the backoff timer) and a fired
backoff timer (the next attempt), though they appear in no action; such events are delivered first
in an episode (`reserves_ids`) so that the ids precede the episode's new actions.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from devhost.durable import action_scheduling
from devhost.durable.episode_changes import EpisodeChanges
from devhost.durable.history import EventType, event, fmt_time, parse_time
from devhost.durable.orchestration_versions import new_instance_version
from devhost.durable.orchestrator_actions import CALL_ACTIVITY_RETRY, CALL_SUB_RETRY, target_name
from devhost.durable.replay_bookkeeping import Book, RetryState

RETRYING = (CALL_ACTIVITY_RETRY, CALL_SUB_RETRY)  # the actions whose calls are retried
FAILED = (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed)
COMPLETED = (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted)


def retry_delay(
    options: dict[str, Any], attempt: int, first_attempt: datetime, now: datetime
) -> float | None:
    """DTFx RetryInterceptor.ComputeNextDelay in seconds; None once retryTimeout has elapsed."""
    timeout_ms = options.get("retryTimeoutInMilliseconds")
    if timeout_ms is not None and now >= first_attempt + timedelta(milliseconds=float(timeout_ms)):
        return None
    first = float(options.get("firstRetryIntervalInMilliseconds", 1000))
    backoff = float(options.get("backoffCoefficient", 1.0))
    try:
        delay = first * math.pow(backoff, attempt - 1)
    except OverflowError:
        delay = math.inf
    cap = options.get("maxRetryIntervalInMilliseconds")
    if cap is not None:
        delay = min(delay, float(cap))
    return min(delay, 3650 * 86400 * 1000.0) / 1000.0


def track(changes: EpisodeChanges, task_id: int, action: dict[str, Any]) -> None:
    """A new call with a retry policy was scheduled as ``task_id``: its first attempt is running."""
    options = action.get("retryOptions") or {}
    changes.book.retries[str(task_id)] = RetryState(
        kind="activity" if action.get("actionType") == CALL_ACTIVITY_RETRY else "sub",
        name=target_name(action),
        input=action.get("input"),
        instance_id=action.get("instanceId"),
        options=options,
        attempt=1,
        max_attempts=int(options.get("maxNumberOfAttempts", 1)),
        first_attempt=fmt_time(changes.now),
        phase="running",
        version=action.get("version"),
    )


def reserves_ids(book: Book, e: dict[str, Any]) -> bool:
    """Whether the SDK reserves a task id when this event is delivered (see the module docstring)."""
    kind = e["EventType"]
    if kind in FAILED:
        state = book.retries.get(str(e.get("TaskScheduledId")))
        return state is not None and state.phase == "running"
    if kind == EventType.TimerFired:
        state = book.retries.get(str(e.get("TimerId")))
        return state is not None and state.phase == "waiting" and state.attempt < state.max_attempts
    return False


def before_delivery(changes: EpisodeChanges, e: dict[str, Any]) -> None:
    """What an event means for a call under retry: a failed attempt waits for its backoff timer, a
    fired backoff timer starts the next attempt, a completed attempt ends the retries."""
    kind = e["EventType"]
    retries = changes.book.retries
    if kind in FAILED:
        state = retries.pop(str(e.get("TaskScheduledId")), None)
        if state is not None and state.phase == "running":
            _wait_for_backoff(changes, state)
    elif kind in COMPLETED:
        retries.pop(str(e.get("TaskScheduledId")), None)
    elif kind == EventType.TimerFired:
        state = retries.pop(str(e.get("TimerId")), None)
        if state is not None and state.attempt < state.max_attempts:
            _next_attempt(changes, state)


def _wait_for_backoff(changes: EpisodeChanges, state: RetryState) -> None:
    delay = retry_delay(state.options, state.attempt, parse_time(state.first_attempt), changes.now)
    if delay is None:
        state.timed_out = True
        delay = 0.0
    tid = changes.next_task_id()
    action_scheduling.schedule_timer(changes, tid, changes.now + timedelta(seconds=delay))
    state.phase = "waiting"
    changes.book.retries[str(tid)] = state


def _next_attempt(changes: EpisodeChanges, state: RetryState) -> None:
    tid = changes.next_task_id()
    state.attempt += 1
    state.phase = "running"
    changes.book.retries[str(tid)] = state
    if state.timed_out:
        # The SDK knows nothing of retryTimeout and waits for this attempt: fail it at once.
        failed = FAILED[0] if state.kind == "activity" else FAILED[1]
        reason = f"{state.name}: retry timeout exceeded, attempt not started"
        changes.message_self(event(failed, changes.now, TaskScheduledId=tid, Reason=reason, Details=None))
    elif state.kind == "activity":
        action_scheduling.schedule_activity(changes, tid, state.name, state.input)
    else:
        version = new_instance_version(changes.host.settings, state.version)
        action_scheduling.schedule_sub_orchestration(
            changes, tid, state.name, state.input, state.instance_id, version
        )
