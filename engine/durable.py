"""The durable runner: a workflow graph replayed by an ``azure-functions-durable`` orchestrator.

Each superstep is one ``task_all`` over step activities; an approval is an external event raced with a
durable timer; every ``continue_every`` supersteps the orchestrator continues as new with its pending
deliveries, so history (and replay cost) stays bounded. Graph semantics come from ``engine.routing`` and
``engine.stepping``, exactly as in the in-memory runner.

Everything here runs inside the orchestrator and must be deterministic: time is
``context.current_utc_datetime``, ids derive from the instance id, iteration follows declared order.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.graph import Workflow
from engine.jsontext import decoded
from engine.model import Executor
from engine.progress import Progress, build_status
from engine.routing import Delivery, Emission, FanInBuffers, Router, RoutingCodec
from engine.run_state import PendingApproval, RunError, RunState
from engine.step_activity import StepResult
from engine.stepping import (
    Step,
    answer_approval,
    expire_approval,
    idempotency_key,
    open_approval,
    plan_superstep,
    superstep_limit_error,
    validate_response,
)

STEP_ACTIVITY = "run_step"
# Each replay re-reads the whole history of the current execution, so a run's total replay cost grows
# with (supersteps x supersteps per execution). 20 keeps that ~2x below a hand-written orchestrator
# already at 50 supersteps (bench/RESULTS.md has the sweep), while a timeline still shows 20 supersteps.
DEFAULT_CONTINUE_EVERY = 20
APPROVAL_ENVELOPE = "$approval"


class OrchestratorInput(BaseModel):
    """What an orchestrator execution starts from: the run's input, or a checkpoint after continue-as-new."""

    input: Any = None
    checkpoint: RunState | None = None
    executed: list[str] = []
    closed: list[dict[str, Any]] = []


class WorkflowFailed(Exception):
    """Raised inside the orchestrator to fail the instance; the message is the run's error."""

    def __init__(self, error: RunError) -> None:
        self.error = error
        super().__init__(str(error))


class ApprovalAnswer(BaseModel):
    """The envelope our approval endpoint raises; a raw event body is the response itself."""

    response: Any
    decided_by: str | None = None
    via: str = "endpoint"


@dataclass
class _Waits:
    """Open event waits and deadline timers, kept across loop turns: re-waiting would orphan a task."""

    events: dict[str, Any] = field(default_factory=dict)
    timers: dict[str, Any] = field(default_factory=dict)


def orchestrate(
    workflow: Workflow,
    context: Any,
    *,
    activity: str = STEP_ACTIVITY,
    continue_every: int = DEFAULT_CONTINUE_EVERY,
) -> Generator[Any, Any, list[Any]]:
    """The orchestrator body for one workflow; returns the run's outputs (JSON)."""
    router, codec = Router(workflow), RoutingCodec(workflow)
    started = OrchestratorInput.model_validate(decoded(context.get_input()) or {})
    if started.checkpoint is not None:
        state = started.checkpoint
        deliveries = [codec.load_delivery(d) for d in state.deliveries]
        buffers = codec.load_buffers(state.fan_in)
        outputs = [codec.load_emission(o) for o in state.outputs]
    else:
        state = RunState(workflow=workflow.name, instance_id=context.instance_id)
        try:
            deliveries = router.start(workflow.validate_input(started.input))
        except ValidationError as exc:
            _fail(context, workflow, state, RunError(type="InvalidInput", message=str(exc)), Progress())
        buffers, outputs = FanInBuffers(), []
    progress = Progress(executed=set(started.executed), closed=list(started.closed))
    waits = _Waits()
    supersteps_here = 0

    while True:
        while deliveries:
            if state.superstep >= workflow.max_supersteps:
                _fail(context, workflow, state, superstep_limit_error(workflow, deliveries), progress)
            if supersteps_here >= continue_every:
                state.deliveries = [codec.dump_delivery(d) for d in deliveries]
                state.fan_in = codec.dump_buffers(buffers)
                state.outputs = [codec.dump_emission(o) for o in outputs]
                context.continue_as_new(
                    OrchestratorInput(
                        checkpoint=state, executed=sorted(progress.executed), closed=progress.closed
                    ).model_dump(mode="json")
                )
                return []
            supersteps_here += 1
            state.superstep += 1
            plan = plan_superstep(workflow, deliveries)
            now = _aware(context.current_utc_datetime)
            for delivery, ordinal in plan.approvals:
                state.approvals.append(
                    open_approval(workflow, delivery, superstep=state.superstep, ordinal=ordinal, now=now)
                )
            emissions = yield from _run_superstep(workflow, context, state, plan.steps, activity, progress)
            routed = router.route(emissions, buffers)
            deliveries = routed.deliveries
            outputs.extend(routed.outputs)
        if not state.approvals:
            break
        context.set_custom_status(build_status(workflow, state, running=[], progress=progress))
        emitted, escalations = yield from _await_approvals(workflow, context, state, waits, progress)
        routed = router.route(emitted, buffers)
        deliveries = escalations + routed.deliveries
        outputs.extend(routed.outputs)

    state.status = "completed"
    context.set_custom_status(build_status(workflow, state, running=[], progress=progress))
    return [codec.dump_emission(o).message for o in outputs]


def _run_superstep(
    workflow: Workflow, context: Any, state: RunState, steps: list[Step], activity: str, progress: Progress
) -> Generator[Any, Any, list[Emission]]:
    """Run every step of a superstep; retry failed ones in rounds, each after a durable timer."""
    results: dict[int, Emission] = {}
    attempts = dict.fromkeys(range(len(steps)), 1)
    todo = list(range(len(steps)))
    while todo:
        running = sorted({steps[i].executor_id for i in todo})
        if not context.is_replaying:
            # Only the status set after replay survives the episode; building it for replayed supersteps
            # would cost every episode time proportional to the whole history.
            context.set_custom_status(build_status(workflow, state, running=running, progress=progress))
        calls = [
            context.call_activity(activity, _request(workflow, state, steps[i], attempts[i])) for i in todo
        ]
        try:
            # One step alone is awaited directly: a one-task task_all costs the SDK a compound task on
            # every replay of every superstep of a chain.
            replies = [(yield calls[0])] if len(calls) == 1 else (yield context.task_all(calls))
        except Exception as exc:  # the activity function itself failed (not the executor): no envelope
            _fail(context, workflow, state, RunError(type="StepActivityFailed", message=str(exc)), progress)
        retry_after = timedelta(0)
        again: list[int] = []
        for index, reply in zip(todo, replies, strict=True):
            step = steps[index]
            executor = workflow.nodes[step.executor_id]
            assert isinstance(executor, Executor)
            if isinstance(reply, dict) and reply.get("ok") is True:
                # The common case, on every replay: only the output matters, and it is validated below.
                progress.executed.add(step.executor_id)
                output = reply.get("output")
                if output is not None:
                    results[index] = Emission(
                        step.executor_id, executor.output_adapter.validate_python(output)
                    )
                continue
            result = StepResult.model_validate(reply)
            if result.error is None:
                result.error = RunError(executor_id=step.executor_id, type="StepFailed", message=str(reply))
            policy = executor.retry
            attempt = attempts[index]
            if result.retryable and policy is not None and policy.retries_type(result.error.type, attempt):
                attempts[index] = attempt + 1
                delay = policy.delay_before(attempt + 1)
                if result.retry_after_ms is not None:
                    delay = max(delay, timedelta(milliseconds=result.retry_after_ms))
                retry_after = max(retry_after, delay)
                again.append(index)
                continue
            _fail(context, workflow, state, result.error, progress)
        if again and retry_after > timedelta(0):
            yield context.create_timer(context.current_utc_datetime + retry_after)
        todo = again
    return [results[i] for i in sorted(results)]


def _request(workflow: Workflow, state: RunState, step: Step, attempt: int) -> dict[str, Any]:
    node = workflow.nodes[step.executor_id]
    # The fields of StepRequest, built as plain JSON: this runs on every replay of every step, and the
    # activity validates it as a StepRequest on arrival anyway.
    return {
        "workflow": workflow.name,
        "executor": step.executor_id,
        "instance_id": state.instance_id,
        "superstep": state.superstep,
        "attempt": attempt,
        "idempotency_key": idempotency_key(
            workflow.name, state.instance_id, state.superstep, node.id, step.ordinal
        ),
        "message": node.input_adapter.dump_python(step.delivery.message, mode="json"),
    }


def _await_approvals(
    workflow: Workflow, context: Any, state: RunState, waits: _Waits, progress: Progress
) -> Generator[Any, Any, tuple[list[Emission], list[Delivery]]]:
    """Wait until one pending approval is answered (validly) or passes its deadline."""
    for pending in state.approvals:
        if pending.request_id not in waits.events:
            waits.events[pending.request_id] = context.wait_for_external_event(pending.event_name)
        if pending.deadline is not None and pending.request_id not in waits.timers:
            waits.timers[pending.request_id] = context.create_timer(
                _like(pending.deadline, context.current_utc_datetime)
            )
    contenders = [waits.events[p.request_id] for p in state.approvals]
    contenders += [waits.timers[p.request_id] for p in state.approvals if p.request_id in waits.timers]
    winner = yield context.task_any(contenders)
    now = context.current_utc_datetime
    for pending in list(state.approvals):
        request_id = pending.request_id
        if winner is waits.events[request_id]:
            answer = _read_answer(workflow, pending, winner.result)
            if answer is None:
                # An invalid raw answer is dropped; wait again for a valid one on the same event name.
                del waits.events[request_id]
                return [], []
            response, decided_by, via = answer
            _close(state, waits, progress, pending, _aware(now), outcome="answered", by=decided_by, via=via)
            emission = answer_approval(
                workflow, pending, response, now=_aware(now), via=via, decided_by=decided_by
            )
            return [emission], []
        if winner is waits.timers.get(request_id):
            _close(state, waits, progress, pending, _aware(now), outcome="timed_out", by=None, via="timeout")
            expiry = expire_approval(workflow, pending, now=_aware(now))
            if expiry.error is not None:
                _fail(context, workflow, state, expiry.error, progress)
            return ([expiry.emission] if expiry.emission else []), (
                [expiry.escalation] if expiry.escalation else []
            )
    raise RuntimeError("task_any returned a task that is neither an approval event nor a deadline timer")


def _read_answer(
    workflow: Workflow, pending: PendingApproval, data: Any
) -> tuple[Any, str | None, str] | None:
    data = decoded(data)
    via, decided_by, response = "event", None, data
    if isinstance(data, dict) and APPROVAL_ENVELOPE in data:
        try:
            envelope = ApprovalAnswer.model_validate(data[APPROVAL_ENVELOPE])
        except ValidationError:
            return None
        response, decided_by, via = envelope.response, envelope.decided_by, envelope.via
    elif pending.approvers:
        # A raw event carries no identity: an approval limited to named approvers ignores it.
        return None
    try:
        return validate_response(workflow, pending, response), decided_by, via
    except ValidationError:
        return None


def _close(
    state: RunState,
    waits: _Waits,
    progress: Progress,
    pending: PendingApproval,
    now: datetime,
    *,
    outcome: str,
    by: str | None,
    via: str,
) -> None:
    request_id = pending.request_id
    progress.close(
        {
            "request_id": request_id,
            "approval_id": pending.approval_id,
            "outcome": outcome,
            "decided_by": by,
            "via": via,
            "at": now.isoformat(),
        }
    )
    state.approvals = [a for a in state.approvals if a.request_id != request_id]
    waits.events.pop(request_id, None)
    timer = waits.timers.pop(request_id, None)
    if timer is not None and not timer.is_completed:
        timer.cancel()


def _fail(context: Any, workflow: Workflow, state: RunState, error: RunError, progress: Progress) -> Any:
    state.status, state.error = "failed", error
    state.approvals = []
    context.set_custom_status(build_status(workflow, state, running=[], progress=progress))
    raise WorkflowFailed(error)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _like(moment: datetime, reference: datetime) -> datetime:
    """``moment`` with the awareness of ``reference``: the SDK compares timer times with its own clock."""
    if reference.tzinfo is None:
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment
    return _aware(moment)
