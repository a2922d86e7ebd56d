"""The timeline of a run: every execution of it, steps, approvals, timers, events and run milestones.

The current execution is read from its recorded history (each step with its input, from the history
fold, and its output); executions that continued as new are gone from the host, so they are read from
the compact trail the orchestrator carries in its checkpoint (``engine.durable.trail``) and from the
run's closed approvals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from engine.core.approval import event_name_for
from engine.core.jsontext import unwrapped
from engine.core.mapping import ItemTag
from engine.core.run_state import ClosedApproval, RunError
from engine.durable.answers import ENVELOPE, AnswerEnvelope
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.history import HistoryEvent
from engine.durable.loop_messages import LOOP_ORCHESTRATOR
from engine.durable.run_snapshot import StepKey
from engine.durable.step_messages import StepRequest
from engine.durable.trail import StepRecord, Trail
from engine.functions.timeline_model import (
    ApprovalEntry,
    CallEntry,
    Entry,
    EventEntry,
    RunEntry,
    StepEntry,
    Timeline,
    TimerEntry,
    Tokens,
    Totals,
)

APPROVAL_EVENT = event_name_for("")
LOOP_ENDS = ("SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed")
RUN_ENDS = {
    "ExecutionCompleted": None,
    "ExecutionTerminated": "terminated",
    "ContinueAsNew": "continued as new",
}


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds() * 1000, 1) if start and end else None


def _input_of(event: HistoryEvent) -> OrchestratorInput:
    try:
        return OrchestratorInput.model_validate(unwrapped(event.input) or {})
    except ValueError:
        return OrchestratorInput()


def _step_entry(
    event: HistoryEvent,
    started: datetime | None,
    requests: Mapping[StepKey, StepRequest],
    items: Mapping[StepKey, ItemTag],
) -> StepEntry:
    scheduled, at = event.scheduled_time, event.timestamp
    times = {
        "scheduled": scheduled,
        "completed": at,
        "elapsed_ms": _ms(scheduled, at),
        "offset_ms": _ms(started, scheduled),
    }
    completed = event.type in ("TaskCompleted", "SubOrchestrationInstanceCompleted")
    result = event.step_result() if completed else event.final_failure()
    if event.type in ("TaskFailed", "SubOrchestrationInstanceFailed") and result is None:
        error = RunError(type="StepActivityFailed", message=str(event.reason))
        return StepEntry(ok=False, error=error, **times)
    if result is None:
        return StepEntry(ok=False, error=RunError(type="StepFailed", message="not a step result"), **times)
    step = result.step
    request = item = None
    if step is not None:
        key = (step.executor, step.superstep, step.ordinal or 0, step.attempt)
        request, item = requests.get(key), items.get(key)
    agent = result.annotations.get("agent")
    return StepEntry(
        executor=step.executor if step else (result.error.executor_id if result.error else None),
        superstep=step.superstep if step else None,
        ordinal=step.ordinal if step else None,
        attempt=step.attempt if step else None,
        item=item.index if item else None,
        batch=item.batch if item else None,
        ok=result.ok,
        retryable=result.retryable,
        # The step activity returns a failed result only when another attempt follows; a step that failed
        # for good raised (TaskFailed), so the history itself says which it was.
        will_retry=None if result.ok else event.type == "TaskCompleted",
        duration_ms=result.duration_ms,
        error=result.error,
        input=request.message if request else None,
        output=result.output,
        idempotency_key=request.idempotency_key if request else None,
        agent=agent if isinstance(agent, dict) else None,
        **times,
    )


def _earlier_step(
    record: StepRecord, started: datetime | None, retried: set[tuple[str, int, int, int]]
) -> StepEntry:
    error = None
    if record.error is not None:
        kind, _, message = record.error.partition(": ")
        error = RunError(executor_id=record.executor, type=kind, message=message)
    return StepEntry(
        executor=record.executor,
        superstep=record.superstep,
        ordinal=record.ordinal,
        attempt=record.attempt,
        ok=record.ok,
        will_retry=None
        if record.ok
        else (record.executor, record.superstep, record.ordinal, record.attempt) in retried,
        scheduled=record.scheduled,
        completed=record.completed,
        elapsed_ms=_ms(record.scheduled, record.completed),
        offset_ms=_ms(started, record.scheduled),
        duration_ms=record.duration_ms,
        error=error,
        agent={"total_tokens": record.tokens} if record.tokens is not None else None,
        earlier=True,
    )


def _earlier(trail: Trail, closed: Sequence[ClosedApproval], until: datetime | None) -> list[Entry]:
    """The executions before the current one, in order: steps and continuations by superstep, and the
    approvals closed before the current execution started."""
    started = trail.started_at
    entries: list[Entry] = [RunEntry(event="started", at=started, earlier=True)]
    # A failed attempt of an earlier execution was retried when the trail holds its step's next attempt.
    retried = {(r.executor, r.superstep, r.ordinal, r.attempt - 1) for r in trail.steps}
    timed: list[tuple[datetime, int, Entry]] = [
        (r.completed, 0, _earlier_step(r, started, retried)) for r in trail.steps
    ]
    timed += [
        (c.at, 1, RunEntry(event="continued", at=c.at, after_superstep=c.after_superstep, earlier=True))
        for c in trail.continuations[:-1]  # the last one is where the current execution took over
    ]
    timed += [(c.at, 2, _closed_entry(c)) for c in closed if until is None or c.at < until]
    timed.sort(key=lambda t: (t[0], t[1]))
    return entries + [entry for _, _, entry in timed]


def _closed_entry(closed: ClosedApproval) -> ApprovalEntry:
    return ApprovalEntry(
        request_id=closed.request_id,
        approval_id=closed.approval_id,
        at=closed.at,
        outcome=closed.outcome,
        answer=closed.answer,
        decided_by=closed.decided_by,
        via=closed.via,
        signed=closed.answer_id is not None,
        earlier=True,
    )


class _Approvals:
    """Reads approval events: which approval each names, and whether it is the answer that decided it."""

    def __init__(self, closed: Sequence[ClosedApproval], approval_ids: Mapping[str, str]) -> None:
        self.closed = {c.request_id: c for c in closed}
        self.approval_ids = dict(approval_ids)
        self.taken: set[str] = set()

    def entry(self, event: HistoryEvent) -> ApprovalEntry:
        request_id = (event.name or "")[len(APPROVAL_EVENT) :]
        data = unwrapped(event.input)
        envelope = None
        if isinstance(data, dict) and ENVELOPE in data:
            try:
                envelope = AnswerEnvelope.model_validate(data[ENVELOPE])
            except ValidationError:
                envelope = None
        closed = self.closed.get(request_id)
        taken = (
            closed is not None
            and closed.outcome == "answered"
            and request_id not in self.taken
            and (
                closed.answer_id is None or (envelope is not None and envelope.answer_id == closed.answer_id)
            )
        )
        if taken:
            self.taken.add(request_id)
        return ApprovalEntry(
            request_id=request_id,
            approval_id=closed.approval_id if closed else self.approval_ids.get(request_id),
            at=event.timestamp,
            outcome="answered" if taken else "not_taken",
            # Only the response: the envelope's signature and link nonce are nobody's business here.
            answer=envelope.response if envelope is not None else data,
            decided_by=closed.decided_by if taken and closed else None,
            via=closed.via if taken and closed else None,
            signed=envelope is not None and envelope.sig is not None,
        )


def run_timeline(
    events: list[HistoryEvent],
    activity: str,
    *,
    requests: Mapping[StepKey, StepRequest] | None = None,
    closed: Sequence[ClosedApproval] = (),
    approval_ids: Mapping[str, str] | None = None,
    items: Mapping[StepKey, ItemTag] | None = None,
    partition_steps: Sequence[StepEntry] = (),
    partitions_not_listed: int = 0,
    loop_rows: Sequence[Entry] = (),
) -> Timeline:
    """The run's timeline. ``events`` are the current execution's history with outputs; ``requests``
    (from the history fold) give each step's input and ``items`` the map item each step worked on;
    ``closed`` are the run's closed approvals and ``approval_ids`` name the approval of each open
    request; ``partition_steps`` are the steps its map partitions ran (from their own histories), and
    ``loop_rows`` the calls and questions of its agent steps (from their orchestrations' histories)."""
    reader = _HistoryReader(activity, requests or {}, items or {}, _Approvals(closed, approval_ids or {}))
    for event in events:
        reader.read(event, closed)
    started = reader.started
    # A deadline passing has no event of its own in the history, and a request a map partition asked is
    # answered in the partition's history: each goes where its time puts it.
    shown = {e.request_id for e in reader.entries if isinstance(e, ApprovalEntry)}
    later: list[Entry] = [
        _closed_entry(c).model_copy(update={"earlier": False})
        for c in closed
        if c.request_id not in shown
        and (c.outcome == "timed_out" or c.reported_at is not None)
        and (started is None or c.at >= started)
    ]
    later += [s.model_copy(update={"offset_ms": _ms(started, s.scheduled)}) for s in partition_steps]
    later += [
        r.model_copy(update={"offset_ms": _ms(started, r.scheduled)}) if isinstance(r, CallEntry) else r
        for r in loop_rows
    ]
    entries = _merged(reader.entries, sorted(later, key=_moment_key))
    totals = reader.totals
    _count(entries, totals)
    totals.partitions_not_listed = partitions_not_listed
    return Timeline(started=started, executions=reader.executions, entries=entries, totals=totals)


class _HistoryReader:
    """The timeline's entries as the current execution's history tells them, event by event."""

    def __init__(
        self,
        activity: str,
        requests: Mapping[StepKey, StepRequest],
        items: Mapping[StepKey, ItemTag],
        approvals: _Approvals,
    ) -> None:
        self.activity, self.requests, self.items, self.approvals = activity, requests, items, approvals
        self.entries: list[Entry] = []
        self.totals = Totals()
        self.started: datetime | None = None
        self.executions = 1

    def _is_step(self, event: HistoryEvent) -> bool:
        """A step attempt's end: the step activity's, or an agent step's orchestration's."""
        if event.type in ("TaskCompleted", "TaskFailed"):
            return event.function_name == self.activity
        return event.type in LOOP_ENDS and event.function_name == LOOP_ORCHESTRATOR

    def read(self, event: HistoryEvent, closed: Sequence[ClosedApproval]) -> None:
        at = event.timestamp
        if event.type == "ExecutionStarted":
            self._execution_started(event, closed)
        elif self._is_step(event):
            self.entries.append(_step_entry(event, self.started, self.requests, self.items))
        elif event.type == "EventRaised" and (event.name or "").startswith(APPROVAL_EVENT):
            self.entries.append(self.approvals.entry(event))
        elif event.type == "EventRaised":
            self.entries.append(EventEntry(name=event.name, at=at, data=unwrapped(event.input)))
        elif event.type == "TimerFired":
            self.entries.append(TimerEntry(at=at, fire_at=event.fire_at))
        elif event.type in RUN_ENDS:
            outcome = RUN_ENDS[event.type] or (event.orchestration_status or "Completed").lower()
            self.entries.append(RunEntry(event=outcome, at=at, elapsed_ms=_ms(self.started, at)))

    def _execution_started(self, event: HistoryEvent, closed: Sequence[ClosedApproval]) -> None:
        """The run's start, or a continue-as-new: then the earlier executions the trail carries."""
        at = event.timestamp
        begun = _input_of(event)
        if begun.checkpoint is None:
            self.started = self.started or at
            self.entries.append(RunEntry(event="started", at=at))
            return
        trail = begun.read_trail()
        if trail.started_at is not None:
            self.started, self.executions = trail.started_at, trail.executions
            self.entries += _earlier(trail, closed, at)
            self.totals.earlier_steps_dropped = trail.dropped_steps
        self.entries.append(RunEntry(event="continued", at=at, after_superstep=begun.checkpoint.superstep))


def _moment(entry: Entry) -> datetime | None:
    return entry.completed if isinstance(entry, StepEntry | CallEntry) else entry.at


def _moment_key(entry: Entry) -> datetime:
    return _moment(entry) or datetime.max.replace(tzinfo=UTC)


def _merged(entries: list[Entry], later: list[Entry]) -> list[Entry]:
    """``later`` (in time order) merged into ``entries`` (history order): each before the first entry
    that happened after it; entries without a time keep their place."""
    merged: list[Entry] = []
    pending = iter(later)
    next_one = next(pending, None)
    for entry in entries:
        moment = _moment(entry)
        while next_one is not None and moment is not None and _moment_key(next_one) < moment:
            merged.append(next_one)
            next_one = next(pending, None)
        merged.append(entry)
    if next_one is not None:
        merged.append(next_one)
        merged += pending
    return merged


def _count(entries: list[Entry], totals: Totals) -> None:
    tokens = Tokens()
    for entry in entries:
        if not isinstance(entry, StepEntry):
            continue
        totals.steps += 1
        totals.step_ms += entry.duration_ms or 0.0
        if not entry.ok:
            totals.failed_attempts += 1
            totals.failed_for_good += entry.will_retry is not True
        if isinstance(entry.attempt, int) and entry.attempt > 1:
            totals.retries += 1
        for key in Tokens.model_fields:
            value = (entry.agent or {}).get(key)
            if isinstance(value, int):
                setattr(tokens, key, getattr(tokens, key) + value)
    totals.step_ms = round(totals.step_ms, 1)
    totals.tokens = tokens
