"""A run as its history tells it: the real orchestrator replayed over the recorded history.

The state of a run (pending approvals, decisions, executors done and in flight) is a deterministic fold
of its history, so the run view and the approval endpoint read it here instead of trusting a trimmed
copy. ``HistoryContext`` implements the SDK seam (``OrchestrationContext``) over the status API's
``historyEvents`` (the current execution; a checkpoint carries earlier ones), and ``fold`` drives an
``Orchestration`` through it until the history runs out, then takes its snapshot (``RunSnapshot``): the
read model every view reads.

Results are matched to what the orchestrator asks for by identity, not by task ids (the status API's
history has none): a step result by the step identity it carries, the k-th timer by the k-th recorded
``TimerCreated`` (and its ``FireAt``), the k-th wait for an event by the k-th ``EventRaised`` of that
name. Times are those of the recorded events, so they can precede the orchestrator's own clock by the
latency of an episode; a deadline is read from its recorded timer when there is one.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Generator, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from engine.core.graph import Workflow
from engine.core.jsontext import iso_time, unwrapped
from engine.core.loop_calls import CallOutcome
from engine.core.run_state import PendingApproval
from engine.core.versions import WorkflowVersions
from engine.durable.admission import started_input
from engine.durable.answers import VERIFY_ACTIVITY, Verdict, VerifyRequest
from engine.durable.approval_desk import ApprovalDesk
from engine.durable.context import DurableTask
from engine.durable.history import HistoryEvent
from engine.durable.loop_messages import CALL_ACTIVITY, CallFailedForGood, CallRequest
from engine.durable.map_partition import MapPartition, partition_workflow
from engine.durable.orchestrator import STEP_ACTIVITY, Orchestration, WorkflowFailed
from engine.durable.partition import PartitionFailed
from engine.durable.run_snapshot import Outcome, RunSnapshot, StepKey
from engine.durable.step_messages import StepFailedForGood, StepIdentity, StepRequest, StepResult

NEVER = float("inf")


class _Task:
    """A task of the replay: a leaf completes at a history position; ``all``/``any`` derive theirs."""

    __slots__ = ("cancelled", "children", "error", "fire_at", "kind", "position", "value")

    def __init__(self, kind: str, position: float = NEVER, value: Any = None) -> None:
        self.kind = kind
        self.position = position
        self.value = value
        self.error: Exception | None = None  # a leaf that failed: yielding it raises this
        self.children: list[_Task] = []
        self.fire_at: datetime | None = None
        self.cancelled = False

    def completes_at(self) -> float:
        if self.kind == "all":
            done = max((c.completes_at() for c in self.children), default=-1)
            failed = self._first_failure()
            # As the SDK's task_all: it fails as soon as one task fails.
            return min(done, failed.completes_at()) if failed is not None else done
        if self.kind == "any":
            return min((c.completes_at() for c in self.children), default=NEVER)
        return self.position

    @property
    def is_completed(self) -> bool:
        return self.completes_at() != NEVER

    def _first_failure(self) -> _Task | None:
        failed = [c for c in self.children if c.failure() is not None and c.completes_at() != NEVER]
        return min(failed, key=lambda c: c.completes_at()) if failed else None

    def failure(self) -> Exception | None:
        """The exception yielding this task raises (once it completes), or None."""
        if self.kind == "all":
            first = self._first_failure()
            return first.failure() if first is not None else None
        if self.kind == "any":
            return None  # task_any answers with the task that completed first, failed or not
        return self.error

    @property
    def result(self) -> Any:
        if self.error is not None:
            return self.error  # as the SDK: a failed task's result is its exception
        if self.kind == "all":
            return [c.result for c in self.children]
        if self.kind == "any":
            at = self.completes_at()
            return next(c for c in self.children if c.completes_at() == at)
        return self.value

    def cancel(self) -> None:
        self.cancelled = True


class HistoryContext:
    """``OrchestrationContext`` over a recorded history: every call is answered from what happened."""

    def __init__(self, instance_id: str, events: Sequence[HistoryEvent], activity: str) -> None:
        self.instance_id = instance_id
        self.is_replaying = True
        self._input: Any = None
        self._times: list[datetime | None] = []
        self._steps: dict[tuple[str, int, int], list[tuple[int, StepResult, bool]]] = defaultdict(list)
        self._timers_created: deque[str] = deque()
        self._timers_fired: dict[str, deque[int]] = defaultdict(deque)
        self._raised: dict[str, deque[tuple[int, Any]]] = defaultdict(deque)
        self._children: dict[str, tuple[int, Any, Exception | None]] = {}
        self._children_by_name: dict[str, deque[tuple[int, Any, Exception | None]]] = defaultdict(deque)
        self._verdicts: dict[tuple[str, int], tuple[int, Verdict]] = {}
        # A looping step's calls, by (call key, attempt): what its orchestration asks of the call activity.
        self._calls: dict[tuple[str, int], list[tuple[int, CallOutcome, bool]]] = defaultdict(list)
        self._position = 0
        self.continued = False
        # What the orchestrator asked of each step (the status API shows results, never inputs).
        self.requests: dict[StepKey, StepRequest] = {}
        last: datetime | None = None
        for position, event in enumerate(events):
            last = event.timestamp or last
            self._times.append(last)
            self._record(position, event, activity)

    def _record(self, position: int, event: HistoryEvent, activity: str) -> None:
        """What one recorded event answers later: an input, a step's result, a verdict, a child's end,
        a timer, an event."""
        if event.type == "ExecutionStarted":
            self._input = unwrapped(event.input)
        elif event.type in ("TaskCompleted", "TaskFailed") and event.function_name == activity:
            self._record_step(position, event)
        elif event.type in ("TaskCompleted", "TaskFailed") and event.function_name == CALL_ACTIVITY:
            outcome = event.call_outcome()
            if outcome is not None:
                failed = event.type == "TaskFailed"
                self._calls[(outcome.key, outcome.attempt)].append((position, outcome, failed))
        elif event.type == "TaskCompleted" and event.function_name == VERIFY_ACTIVITY:
            try:
                verdict = Verdict.model_validate(unwrapped(event.result))
            except ValidationError:
                return
            self._verdicts[(verdict.request_id, verdict.sequence)] = (position, verdict)
        elif event.type in ("SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed"):
            self._record_child(position, event)
        elif event.type == "TimerCreated" and event.fire_at is not None:
            self._timers_created.append(event.fire_at)
        elif event.type == "TimerFired" and event.fire_at is not None:
            self._timers_fired[event.fire_at].append(position)
        elif event.type == "EventRaised" and event.name is not None:
            self._raised[event.name].append((position, event.input))

    def _record_step(self, position: int, event: HistoryEvent) -> None:
        result = event.step_result() if event.type == "TaskCompleted" else event.final_failure()
        if result is not None and result.step is not None:
            step = result.step
            failed = event.type == "TaskFailed"
            self._steps[(step.executor, step.superstep, step.attempt)].append((position, result, failed))

    def _record_child(self, position: int, event: HistoryEvent) -> None:
        failed = event.type == "SubOrchestrationInstanceFailed"
        ended = (
            position,
            None if failed else unwrapped(event.result),
            Exception(f"{event.reason} \n {event.details}") if failed else None,
        )
        if event.instance_id:
            self._children[event.instance_id] = ended
        else:
            self._children_by_name[event.function_name or ""].append(ended)

    # --- the seam ------------------------------------------------------------------------------------

    @property
    def current_utc_datetime(self) -> datetime:
        """The time of the recorded event the replay has reached (the epoch before any)."""
        moment = self._times[self._position] if self._times else None
        return moment or datetime(1970, 1, 1, tzinfo=UTC)

    def get_input(self) -> Any:
        """The input the recorded execution started with."""
        return self._input

    def call_activity(self, name: str, input_: Any) -> DurableTask:
        """The recorded answer to this activity call: the verify activity's verdict for the request, or the
        result of the step this request asks for (matched by its identity); a task that never completes
        when the history has none."""
        if name == VERIFY_ACTIVITY:
            asked = VerifyRequest.model_validate(input_)
            found = self._verdicts.get((asked.request_id, asked.sequence))
            if found is None:
                return _Task("leaf")
            return _Task("leaf", max(found[0], self._position), found[1].model_dump(mode="json"))
        if name == CALL_ACTIVITY:
            return self._call(CallRequest.model_validate(input_))
        request = StepRequest.model_validate(input_)
        self.requests[(request.executor, request.superstep, request.ordinal, request.attempt)] = request
        wanted = request.identity()
        candidates = self._steps.get((request.executor, request.superstep, request.attempt), [])
        for i, (position, result, failed) in enumerate(candidates):
            if result.step is not None and result.step.matches(wanted):
                del candidates[i]
                task = _Task("leaf", max(position, self._position), result.model_dump(mode="json"))
                if failed:
                    task.error = StepFailedForGood(result)
                return task
        return _Task("leaf")

    def _call(self, asked: CallRequest) -> _Task:
        """A looping step's call, answered by its recorded outcome (the first of that key and attempt)."""
        recorded = self._calls.get((asked.call.key, asked.attempt))
        if not recorded:
            return _Task("leaf")
        position, outcome, failed = recorded.pop(0)
        task = _Task("leaf", max(position, self._position), outcome.model_dump(mode="json"))
        if failed:
            task.error = CallFailedForGood(outcome)
        return task

    def call_sub_orchestrator(self, name: str, input_: Any, instance_id: str | None = None) -> DurableTask:
        """The recorded end of this child run; a task that never completes while it has not ended."""
        # Matched by the child's instance id where the history names it (devhost does), else by the
        # order in which children of that name finished.
        ended = self._children.pop(instance_id, None) if instance_id is not None else None
        if ended is None and self._children_by_name.get(name):
            ended = self._children_by_name[name].popleft()
        if ended is None:
            return _Task("leaf")
        position, value, error = ended
        task = _Task("leaf", max(position, self._position), value)
        task.error = error
        return task

    def create_timer(self, fire_at: datetime) -> DurableTask:
        """The next recorded timer, firing where its TimerFired is recorded (never, when it has not fired)."""
        task = _Task("leaf")
        if self._timers_created:
            recorded = self._timers_created.popleft()
            task.fire_at = iso_time(recorded)
            fired = self._timers_fired.get(recorded)
            if fired:
                task.position = max(fired.popleft(), self._position)
        return task

    def wait_for_external_event(self, name: str) -> DurableTask:
        """The next recorded event of this name, completing where it was raised (never, when it was not)."""
        queue = self._raised.get(name)
        if not queue:
            return _Task("leaf")
        position, data = queue.popleft()
        return _Task("leaf", max(position, self._position), data)

    def task_all(self, tasks: Sequence[DurableTask]) -> DurableTask:
        """A task completing when every one of ``tasks`` has, or when the first fails."""
        task = _Task("all")
        task.children = list(tasks)  # type: ignore[arg-type]
        return task

    def task_any(self, tasks: Sequence[DurableTask]) -> DurableTask:
        """A task completing when the first of ``tasks`` does."""
        task = _Task("any")
        task.children = list(tasks)  # type: ignore[arg-type]
        return task

    def continue_as_new(self, input_: Any) -> None:
        """Note that the recorded execution continued as new (the snapshot says so)."""
        self.continued = True

    def set_custom_status(self, status: Any) -> None:
        """Ignored: a fold reports nothing."""
        return None

    # --- driving -------------------------------------------------------------------------------------

    def advance_to(self, position: float) -> None:
        """Move the replay forward to the history position of the task the orchestrator waited for."""
        self._position = max(self._position, int(position))

    def unasked_steps(self) -> list[StepIdentity]:
        """Recorded step results the replay never asked for, in history order: the code that replayed
        the history no longer runs those steps where the run did."""
        left = [(at, result.step) for entries in self._steps.values() for at, result, _ in entries]
        return [step for _, step in sorted(left, key=lambda item: item[0]) if step is not None]


def fold(
    workflow: Workflow | WorkflowVersions,
    instance_id: str,
    events: Sequence[HistoryEvent],
    *,
    activity: str = STEP_ACTIVITY,
    continue_every: int,
    name: str | None = None,
) -> RunSnapshot:
    """The run replayed over ``events``. Raises ``VersionNotAvailable`` when the graph it started on is
    not served (its version is gone): the orchestrator fails such a run, saying so."""
    context = HistoryContext(instance_id, events, activity)
    started = started_input(context.get_input())
    if isinstance(workflow, WorkflowVersions):
        assert name is not None
        workflow = workflow.for_run(name, started.version, started.fingerprint)
    orchestration = Orchestration(
        workflow, context, activity=activity, continue_every=continue_every, started=started
    )
    return _driven(orchestration, orchestration.run(), context)


def fold_partition(
    workflows: WorkflowVersions, instance_id: str, events: Sequence[HistoryEvent], *, activity: str
) -> RunSnapshot:
    """A map partition (``engine.durable.map_partition``) replayed over ``events``: its orchestration
    holds the requests it still waits for, and those it closed. Raises ``VersionNotAvailable`` as
    ``fold`` does."""
    context = HistoryContext(instance_id, events, activity)
    workflow, data = partition_workflow(workflows, context)
    partition = MapPartition(workflow, data, context, activity=activity)
    return _driven(partition.orchestration, partition.run(), context)


def _driven(
    orchestration: Orchestration, body: Generator[Any, Any, Any], context: HistoryContext
) -> RunSnapshot:
    """The orchestrator body driven through the history until it runs out (or the body ends)."""
    outcome = drive_history(body, context, (WorkflowFailed, PartitionFailed))
    if outcome == "waiting":
        _pin_deadlines(orchestration.state.approvals, orchestration.approvals)
    return snapshot(orchestration, outcome, context)


def drive_history(
    body: Generator[Any, Any, Any], context: HistoryContext, failures: tuple[type[BaseException], ...]
) -> Outcome:
    """Drive an orchestrator body through ``context``'s history until it runs out (waiting) or the body
    ends (completed, continued as new, or failed with one of ``failures``)."""
    try:
        task: _Task = body.send(None)
        while True:
            position = task.completes_at()
            if position == NEVER:
                return "waiting"
            context.advance_to(position)
            error = task.failure()
            task = body.throw(error) if error is not None else body.send(task.result)
    except StopIteration:
        return "continued" if context.continued else "completed"
    except failures:
        return "failed"
    except Exception:
        # The orchestrator itself raised (a step's recorded output its own type refuses, a condition that
        # raises): replaying the same history, the host's orchestrator raised the same and failed the run
        # with it. The fold says failed, as far as it got; the status keeps the host's message.
        return "failed"


def snapshot(orchestration: Orchestration, outcome: Outcome, context: HistoryContext) -> RunSnapshot:
    """The frozen read model of where the replay left ``orchestration`` (the replay is over: nothing
    changes what it holds any more)."""
    state = orchestration.state
    buffers = orchestration.buffers
    earlier, earlier_total = orchestration.started.trail_children()
    return RunSnapshot(
        workflow=orchestration.workflow,
        outcome=outcome,
        started=orchestration.started,
        superstep=state.superstep,
        error=state.error,
        open_approvals=tuple(state.approvals),
        closed_approvals=tuple(orchestration.closed),
        executed=frozenset(orchestration.executed),
        running=tuple(orchestration.running),
        in_flight=tuple(orchestration.in_flight),
        round_started=orchestration.round_started,
        attempts=tuple(orchestration.attempts_taken),
        asking=tuple(asked for asked, _ in orchestration.asking.values()),
        partitions=MappingProxyType(dict(orchestration.partitions)),
        children=MappingProxyType({**earlier, **orchestration.children}),
        children_total=earlier_total + len(orchestration.children),
        requests=MappingProxyType(dict(context.requests)),
        map_batches=MappingProxyType(dict(buffers.batches)),
        gathering=MappingProxyType(dict(buffers.gathering)),
        execution_started=orchestration.execution_started,
        unasked=tuple(context.unasked_steps()),
        loops=MappingProxyType(dict(orchestration.loops)),
        instance_id=state.instance_id,
    )


def _pin_deadlines(approvals: Sequence[PendingApproval], desk: ApprovalDesk) -> None:
    """Deadlines as recorded by their timers (the fold's clock may lag the orchestrator's by ms). The
    request's ``requested_at`` stays the fold's: a request this fold closes records that time, and the
    event feed gives the request at the same time (the same cursor) before and after it closes."""
    for pending in approvals:
        timer = desk.deadline_timer(pending.request_id)
        fire_at = timer.fire_at if isinstance(timer, _Task) else None
        if fire_at is not None:
            pending.deadline = fire_at


def pin_deadlines(approvals: Sequence[PendingApproval], desk: ApprovalDesk) -> None:
    """``_pin_deadlines`` for other orchestrations' folds (a looping step's)."""
    _pin_deadlines(approvals, desk)


__all__ = ["HistoryContext", "RunSnapshot", "drive_history", "fold", "fold_partition", "pin_deadlines"]
