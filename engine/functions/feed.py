"""A run's event feed: what happened, in order, each event with a cursor, built from durable data only.

The current execution's events come from its history folded through the orchestrator (step attempts as
the orchestrator took them in, approvals asked and closed); earlier executions' from the trail their
checkpoint carries (``engine.durable.trail``: step attempts, capped, and each continue-as-new) and the
closed approvals it carries. So the feed is the same after a host crash, and spans every execution.

Events are ordered by time, then by a key that names them (``step:<superstep>:<executor>:...``); a
cursor is ``<time>|<key>``, and ``after=<cursor>`` gives the events that sort after it. Times are the
orchestrator's clock as its history records it, so an event found later never sorts before one already
given out. Steps running now are listed beside the events (``running``), not as events: their start is
an event once they have finished.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from engine.core.jsontext import iso_time
from engine.durable.history import HistoryEvent
from engine.durable.run_snapshot import RunSnapshot
from engine.functions.retries import max_attempts, will_retry

EventKind = Literal[
    "run_started",
    "steps_dropped",
    "run_continued",
    "step_started",
    "step_completed",
    "step_failed",
    "step_streaming",
    "map_item_done",
    "model_call",
    "tool_call",
    "tools_listed",
    "call_failed",
    "approval_requested",
    "approval_answered",
    "approval_timed_out",
    "run_completed",
    "run_failed",
    "run_terminated",
]
ENDS: dict[str, EventKind] = {
    "Completed": "run_completed",
    "Failed": "run_failed",
    "Terminated": "run_terminated",
}


class FeedEvent(BaseModel):
    cursor: str
    at: datetime
    kind: EventKind
    executor: str | None = None
    superstep: int | None = None
    ordinal: int | None = None
    attempt: int | None = None
    item: int | None = Field(default=None, description="a map item's index")
    request_id: str | None = None
    call: str | None = Field(
        default=None, description="an agent step's call: the tool, or the model, it called"
    )
    detail: str | None = Field(
        default=None,
        description="an error, who decided and how, a count; for an agent's call what it was asked, what it "
        "answered, its duration and tokens",
    )
    retrying: bool | None = Field(
        default=None,
        description="step_failed: true when another attempt of the step follows (the failure is not the "
        "step's), false when it has failed for good",
    )
    max_attempts: int | None = Field(
        default=None, description="step_failed: the attempts the step's retry policy allows"
    )


class RunningStep(BaseModel):
    executor: str
    superstep: int
    ordinal: int
    attempt: int
    item: int | None = None
    since: datetime | None


class Feed(BaseModel):
    """``GET .../runs/{id}/events``: the events after the cursor asked for, and what runs now."""

    events: list[FeedEvent]
    cursor: str | None = Field(description="the last event's cursor (pass it as ?after=), or the one asked")
    running: list[RunningStep]
    more: bool = Field(default=False, description="more events follow this page: ask again at once")
    finished: bool = Field(description="the run has finished and this page holds its last events")


# Keys order the events of one time (one episode) as the orchestrator went: the results it took in (1),
# the approvals it closed (2), a continue-as-new (3), then the next superstep's approvals (4) and steps (5).
def _key_step(superstep: int, executor: str, ordinal: int, attempt: int, phase: str) -> str:
    order = "5" if phase == "a" else "1"
    return f"{order}step:{superstep:08d}:{executor}:{ordinal:06d}:{attempt:03d}:{phase}"


def cursor_of(at: datetime, key: str) -> str:
    # UTC with a Z, so the cursor goes into a query string as it is (a "+" would read as a space).
    return f"{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}|{key}"


def feed_event(at: datetime, key: str, **fields: Any) -> FeedEvent:
    """The event at ``at``, its cursor made of ``at`` and ``key`` (which orders events of one time)."""
    return FeedEvent(cursor=cursor_of(at, key), at=at, **fields)


def parse_cursor(text: str) -> tuple[datetime, str] | None:
    at, _, key = text.partition("|")
    moment = iso_time(at)
    return (moment, key) if moment is not None and key else None


def run_events(run: RunSnapshot | None, history: list[HistoryEvent], runtime: str | None) -> list[FeedEvent]:
    """Every event of the run, in feed order."""
    rows = _Rows()
    first = next((e.timestamp for e in history if e.type == "ExecutionStarted"), None)
    if run is None:
        rows.add(first, "0:run", "run_started")
    else:
        rows.earlier_executions(run, first)
        rows.attempts(run)
        rows.closed_requests(run)
        if runtime not in ENDS:
            rows.open_requests(run)
    if runtime in ENDS:
        rows.end(history, ENDS[runtime])
    return rows.events()


class _Rows:
    """The feed's rows as they are found: (when, the key that orders rows at the same time, fields)."""

    def __init__(self) -> None:
        self.rows: list[tuple[datetime, str, dict[str, Any]]] = []

    def add(self, at: datetime | None, key: str, kind: EventKind, **fields: Any) -> None:
        if at is not None:
            self.rows.append((at, key, {"kind": kind, **fields}))

    def events(self) -> list[FeedEvent]:
        self.rows.sort(key=lambda row: (row[0], row[1]))
        return [feed_event(at, key, **fields) for at, key, fields in self.rows]

    def earlier_executions(self, run: RunSnapshot, first: datetime | None) -> None:
        """The run's start, and what the trail carried across continue-as-new."""
        trail = run.started.read_trail()
        started = trail.started_at or run.execution_started or first
        self.add(started, "0:run", "run_started")
        if trail.dropped_steps:
            detail = f"{trail.dropped_steps} earlier step attempts"
            self.add(started, "0:run:dropped", "steps_dropped", detail=detail)
        # An earlier execution's failed attempt was retried when the trail holds a later attempt of its step.
        retried = {(r.superstep, r.executor, r.ordinal, r.attempt - 1) for r in trail.steps}
        for record in trail.steps:
            ids = (record.superstep, record.executor, record.ordinal, record.attempt)
            self.add(record.scheduled, _key_step(*ids, "a"), "step_started", **_step(*ids))
            if record.ok:
                self.add(record.completed, _key_step(*ids, "b"), "step_completed", **_step(*ids))
                continue
            self.add(
                record.completed,
                _key_step(*ids, "b"),
                "step_failed",
                detail=record.error,
                retrying=ids in retried,
                max_attempts=max_attempts(run.workflow, record.executor),
                **_step(*ids),
            )
        for number, continued in enumerate(trail.continuations):
            key = f"3run:continued:{number:06d}"
            self.add(continued.at, key, "run_continued", superstep=continued.after_superstep)

    def attempts(self, run: RunSnapshot) -> None:
        """This execution's step attempts, started and ended."""
        for step, attempt, scheduled, completed, result, superstep in run.attempts:
            ids = (superstep, step.executor_id, step.ordinal, attempt)
            item = step.delivery.item.index if step.delivery.item is not None else None
            self.add(scheduled, _key_step(*ids, "a"), "step_started", item=item, **_step(*ids))
            if result.ok:
                done: EventKind = "map_item_done" if item is not None else "step_completed"
                self.add(completed, _key_step(*ids, "b"), done, item=item, **_step(*ids))
            else:
                error = f"{result.error.type}: {result.error.message}" if result.error else None
                fields = {
                    **_step(*ids),
                    "retrying": will_retry(run.workflow, step.executor_id, result, attempt),
                    "max_attempts": max_attempts(run.workflow, step.executor_id),
                }
                self.add(completed, _key_step(*ids, "b"), "step_failed", item=item, detail=error, **fields)

    def closed_requests(self, run: RunSnapshot) -> None:
        """Each closed request, asked and then answered or timed out."""
        for closed in run.closed_approvals:
            item = closed.item.index if closed.item is not None else None
            request = {"request_id": closed.request_id, "executor": closed.approval_id, "item": item}
            self.add(closed.requested_at, f"4approval:{closed.request_id}:a", "approval_requested", **request)
            answered = closed.outcome == "answered"
            self.add(
                closed.reported_at or closed.at,
                f"2approval:{closed.request_id}:b",
                "approval_answered" if answered else "approval_timed_out",
                detail=f"{closed.decided_by or 'someone'} via {closed.via}" if answered else None,
                **request,
            )

    def open_requests(self, run: RunSnapshot) -> None:
        """The requests still open: the run's own, and those its map partitions asked."""
        for asked in run.asking:
            for request_id, tag in zip(asked.request_ids(), asked.items, strict=True):
                self.add(
                    asked.requested_at,
                    f"4approval:{request_id}:a",
                    "approval_requested",
                    request_id=request_id,
                    executor=asked.approval_id,
                    superstep=asked.superstep,
                    item=tag.index,
                    detail=f"asked in map partition {asked.instance_id}",
                )
        for pending in run.open_approvals:
            self.add(
                pending.requested_at,
                f"4approval:{pending.request_id}:a",
                "approval_requested",
                request_id=pending.request_id,
                executor=pending.approval_id,
                superstep=pending.superstep,
                item=pending.item.index if pending.item is not None else None,
            )

    def end(self, history: list[HistoryEvent], kind: EventKind) -> None:
        """How the run ended: when the history says, else at its last event."""
        ends = ("ExecutionCompleted", "ExecutionTerminated")
        ended = next((e.timestamp for e in reversed(history) if e.type in ends), None)
        last = max((row[0] for row in self.rows), default=None)
        self.add(ended or last, "~end", kind)


def child_approvals(asked: list[dict[str, Any]]) -> list[FeedEvent]:
    """The open approvals of the run's sub-workflow runs (as the run view lists them), as events of the run:
    a person is asked, inside a child."""
    events = []
    for entry in asked:
        at = iso_time(entry.get("requested_at"))
        owner = (entry.get("run") or {}).get("instanceId", "")
        if at is None:
            continue
        key = f"4approval:{owner}/{entry['request_id']}:a"
        events.append(
            feed_event(
                at,
                key,
                kind="approval_requested",
                executor=entry.get("approval_id"),
                request_id=entry["request_id"],
                detail=f"in sub-workflow run {owner}",
            )
        )
    return events


def _step(superstep: int, executor: str, ordinal: int, attempt: int) -> dict[str, Any]:
    return {"superstep": superstep, "executor": executor, "ordinal": ordinal, "attempt": attempt}


def running_steps(run: RunSnapshot | None, runtime: str | None) -> list[RunningStep]:
    if run is None or runtime in ENDS:
        return []
    superstep = run.superstep
    return [
        RunningStep(
            executor=step.executor_id,
            superstep=superstep,
            ordinal=step.ordinal,
            attempt=attempt,
            item=step.delivery.item.index if step.delivery.item is not None else None,
            since=run.round_started,
        )
        for step, attempt in run.in_flight
    ]


def after(events: list[FeedEvent], cursor: str | None) -> list[FeedEvent]:
    """The events that sort after ``cursor`` (all of them without one)."""
    if cursor is None:
        return events
    parsed = parse_cursor(cursor)
    if parsed is None:
        raise ValueError("not a cursor of this feed")
    return [e for e in events if (e.at, e.cursor.partition("|")[2]) > parsed]


__all__ = ["Feed", "FeedEvent", "RunningStep", "after", "feed_event", "run_events", "running_steps"]
