"""Looping steps (agents) in memory: ``engine.core.step_loop.drive`` with its effects performed here.

Calls are made in this process (``engine.core.execution.run_call``, concurrently within a turn), pauses
wait on the runner's clock, and a question to people pauses the step: its state at the question goes
into the run's checkpoint (``RunState.loops``), its requests among the run's open approvals, and the run
pauses as it does for any approval. When every question of the step has an answer (or its deadline has
passed), ``resume`` drives the step on from that state. Each call reports an event (``call_completed``,
``call_failed``, ``call_retrying``) with what it was asked and what it answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from engine.core.approval_requests import expire_approval, open_step_approval
from engine.core.clock import Clock
from engine.core.execution import run_call, step_context
from engine.core.graph import Workflow
from engine.core.loop_calls import AskDecision, CallOutcome, LoopCall, call_idempotency_key
from engine.core.mapping import ItemTag, ItemTagJSON
from engine.core.routing import Delivery, Emission
from engine.core.run_state import PausedLoop, PendingApproval, RunError, RunState
from engine.core.step_loop import Asks, Calls, LoopEnd, LoopExecutor, Pause, drive
from engine.core.supersteps import Step, idempotency_key, item_failure

Emit = Callable[..., None]  # (kind, **fields): the runner's event for this run


class LoopSteps:
    """Runs and resumes a run's looping steps, on the runner's clock, reporting through its events."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def run(
        self,
        workflow: Workflow,
        state: RunState,
        step: Step,
        superstep: int,
        node: LoopExecutor,
        emit: Emit,
        *,
        paused: PausedLoop | None = None,
    ) -> Emission | RunError | PausedLoop:
        """Drive one step from its start (or, ``paused``, on from its question, which has its answers):
        its output, its error (the run's, unless a map collects it), or the step paused again."""
        key = idempotency_key(state.workflow, state.instance_id, superstep, node.id, step.ordinal)
        if paused is None:
            emit("executor_started", superstep=superstep, executor_id=node.id, attempt=1)
            try:
                loop_state = node.loop_start(step.delivery.message, key)
            except ValidationError as exc:
                error = RunError(executor_id=node.id, type="InvalidStepInput", message=str(exc))
                return self._failed(workflow, step, superstep, node, error, {}, emit)
            decisions = None
        else:
            loop_state = paused.state
            decisions = [paused.decided[ask.key] for ask in paused.asks]
        driver = drive(node, loop_state)
        effect = next(driver)
        try:
            while True:
                if isinstance(effect, Calls):
                    effect = driver.send(await self._calls(state, node, key, superstep, effect, emit))
                elif isinstance(effect, Pause):
                    emit("call_retrying", superstep=superstep, executor_id=node.id, data=_delay(effect.delay))
                    await self.clock.sleep(effect.delay)
                    effect = driver.send(None)
                elif decisions is not None:
                    effect, decisions = driver.send(decisions), None
                else:
                    return self._ask(workflow, state, step, superstep, node, effect, emit)
        except StopIteration as stopped:
            end: LoopEnd = stopped.value
        if not end.ok:
            assert end.error is not None
            return self._failed(workflow, step, superstep, node, end.error, end.annotations, emit)
        output = node.output_adapter.validator.validate_python(end.output)
        emit(
            "executor_completed",
            superstep=superstep,
            executor_id=node.id,
            attempt=1,
            data=dict(end.annotations) or None,
        )
        return Emission(node.id, output, step.delivery.item)

    async def _calls(
        self, state: RunState, node: LoopExecutor, key: str, superstep: int, effect: Calls, emit: Emit
    ) -> list[CallOutcome]:
        """Make a turn's calls together, each with its own idempotency key; report each."""

        async def one(call: LoopCall, attempt: int) -> CallOutcome:
            ctx = step_context(
                state.workflow, state.instance_id, node.id, attempt, call_idempotency_key(key, call.key)
            )
            return await run_call(node, call, attempt, ctx)

        outcomes = list(await asyncio.gather(*(one(call, attempt) for call, attempt in effect.calls)))
        for outcome in outcomes:
            data = {"key": outcome.key, "kind": outcome.kind, "name": outcome.name, **outcome.shown}
            fields: dict[str, Any] = {
                "superstep": superstep,
                "executor_id": node.id,
                "attempt": outcome.attempt,
                "duration_ms": outcome.duration_ms,
                "data": data,
            }
            if outcome.ok:
                emit("call_completed", **fields)
            else:
                error = outcome.error
                emit("call_failed", error=f"{error.type}: {error.message}" if error else "failed", **fields)
        return outcomes

    def _ask(
        self,
        workflow: Workflow,
        state: RunState,
        step: Step,
        superstep: int,
        node: LoopExecutor,
        effect: Asks,
        emit: Emit,
    ) -> PausedLoop:
        """Open the step's questions among the run's approvals, and pause the step at them."""
        now = self.clock.now()
        item = step.delivery.item
        paused = PausedLoop(
            node_id=node.id,
            superstep=superstep,
            ordinal=step.ordinal,
            item=ItemTagJSON(batch=item.batch, index=item.index) if item is not None else None,
            state=effect.state,
            asks=effect.asks,
        )
        for ask in effect.asks:
            pending = open_step_approval(
                workflow,
                ask.approval_id,
                ask.request,
                superstep=superstep,
                ordinal=step.ordinal,
                call_key=ask.key,
                now=now,
                item=paused.item,
            )
            self._asked(state, paused, pending, ask.key, emit)
        return paused

    @staticmethod
    def _asked(
        state: RunState, paused: PausedLoop, pending: PendingApproval, call_key: str, emit: Emit
    ) -> None:
        state.approvals.append(pending)
        paused.requests[pending.request_id] = call_key
        deadline = pending.deadline.isoformat() if pending.deadline else None
        emit(
            "approval_requested",
            superstep=pending.superstep,
            executor_id=pending.approval_id,
            request_id=pending.request_id,
            data={"deadline": deadline, "request": pending.request},
        )

    def _failed(
        self,
        workflow: Workflow,
        step: Step,
        superstep: int,
        node: LoopExecutor,
        error: RunError,
        annotations: dict[str, Any],
        emit: Emit,
    ) -> Emission | RunError:
        emit(
            "executor_failed",
            superstep=superstep,
            executor_id=node.id,
            attempt=1,
            error=f"{error.type}: {error.message}",
            data=dict(annotations) or None,
        )
        return item_failure(workflow, step, error) or error

    # --- answers and deadlines -------------------------------------------------------------------------

    @staticmethod
    def owner(state: RunState, request_id: str) -> PausedLoop | None:
        """The paused step that asked ``request_id``, if a step did."""
        return next((loop for loop in state.loops if request_id in loop.requests), None)

    def decide(
        self,
        workflow: Workflow,
        state: RunState,
        pending: PendingApproval,
        response: Any,
        *,
        via: str,
        decided_by: str | None,
    ) -> None:
        """An answer (validated) to a step's question: the decision it waits for, as JSON."""
        loop = self.owner(state, pending.request_id)
        assert loop is not None
        key = loop.requests[pending.request_id]
        answer = workflow.approval(pending.approval_id).response_adapter.dump_python(response, mode="json")
        loop.decided[key] = AskDecision(key=key, response=answer, decided_by=decided_by, via=via)

    def expire(
        self, workflow: Workflow, state: RunState, pending: PendingApproval, now: datetime, emit: Emit
    ) -> RunError | None:
        """A step's question past its deadline: its default decision, a question to whom it escalates,
        or the run's error."""
        loop = self.owner(state, pending.request_id)
        assert loop is not None
        key = loop.requests[pending.request_id]
        expiry = expire_approval(workflow, pending, now=now)
        if expiry.error is not None:
            return expiry.error
        if expiry.escalation is not None:
            self._escalated(workflow, state, loop, expiry.escalation, key, now, emit)
            return None
        assert expiry.emission is not None
        outcome = expiry.emission.message
        loop.decided[key] = AskDecision(
            key=key, response=outcome.response.model_dump(mode="json"), via="timeout", timed_out=True
        )
        return None

    def _escalated(
        self,
        workflow: Workflow,
        state: RunState,
        loop: PausedLoop,
        escalation: Delivery,
        key: str,
        now: datetime,
        emit: Emit,
    ) -> None:
        approval = workflow.approval(escalation.target)
        pending = open_step_approval(
            workflow,
            approval.id,
            approval.input_adapter.dump_python(escalation.message, mode="json"),
            superstep=loop.superstep,
            ordinal=loop.ordinal,
            call_key=key,
            now=now,
            item=loop.item,
            escalated_from=escalation.source,
        )
        self._asked(state, loop, pending, key, emit)

    def ready(self, state: RunState) -> list[PausedLoop]:
        """The paused steps whose every question is decided, taken out of the checkpoint."""
        ready = [loop for loop in state.loops if loop.ready]
        state.loops = [loop for loop in state.loops if not loop.ready]
        return ready

    @staticmethod
    def step_of(loop: PausedLoop) -> Step:
        """The step a paused loop belongs to (its message is in its state: none is needed)."""
        item = loop.item
        tag = ItemTag(item.batch, item.index) if item is not None else None
        return Step(Delivery(loop.node_id, None, "", tag), loop.ordinal)


def _delay(delay: timedelta) -> dict[str, Any]:
    return {"delay_ms": delay / timedelta(milliseconds=1)}


__all__ = ["LoopSteps"]
