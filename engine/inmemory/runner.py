"""The in-memory runner: a workflow in one asyncio process, no services; for development and tests."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    computed_field,
    model_validator,
)

from engine.core.approval_requests import answer_approval, expire_approval, open_approval, validate_response
from engine.core.clock import Clock, SystemClock
from engine.core.events import EventKind, RunEvent, make_event
from engine.core.execution import run_attempt, step_context
from engine.core.executor import Executor
from engine.core.graph import Workflow
from engine.core.mapping import ItemTag, ItemTagJSON
from engine.core.retry import retry_delay
from engine.core.routing import Delivery, Emission, FanInBuffers, MapItemsError, Router, RoutingCodec
from engine.core.run_state import ChildRun, PausedLoop, PendingApproval, RunError, RunState, RunStatus
from engine.core.step_loop import LoopExecutor
from engine.core.subworkflow import SubWorkflow, child_instance_id
from engine.core.supersteps import (
    Step,
    idempotency_key,
    incomplete_fan_in,
    item_failure,
    parallel_limits,
    plan_superstep,
    superstep_limit_error,
)
from engine.inmemory.step_loops import LoopSteps
from engine.telemetry.runs import RunTrace, run_trace
from engine.telemetry.steps import step_trace

_IMMUTABLE = frozenset({int, float, str, bool, bytes, type(None)})  # deepcopy returns these as they are


# What the runner records per event: the finished ``RunEvent`` when someone streams the run (they get
# it as it happens), else the raw ``(kind, at, fields)`` it would be built from.
_Recorded = RunEvent | tuple[EventKind, Any, dict[str, Any]]
_EVENTS = TypeAdapter(list[RunEvent])


class RunResult(BaseModel):
    """How a run ended (or paused): status, outputs in production order, what it waits for, events.

    ``events`` is built on first read: a run records four events per step, and building them as
    ``RunEvent`` models was most of the in-memory runner's own cost, paid by every caller whether it
    reads them or not. Reading ``events`` (attribute, ``model_dump``, JSON, ``==``, ``repr``) gives the
    same list of ``RunEvent`` as before, built once and then kept; ``RunResult(events=...)`` and
    ``model_validate`` accept and validate it as before.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    workflow: str
    instance_id: str
    status: RunStatus
    outputs: list[Any]
    pending_approvals: list[PendingApproval]
    error: RunError | None
    state: RunState
    _recorded: list[Any] = PrivateAttr(default_factory=list)
    _built: bool = PrivateAttr(default=True)

    @model_validator(mode="wrap")
    @classmethod
    def _take_events(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> RunResult:
        # ``events`` is not a stored field any more, but callers still pass it: validate it as the
        # old required ``list[RunEvent]`` field did.
        if not isinstance(data, Mapping) or isinstance(data, RunResult):
            return handler(data)  # type: ignore[no-any-return]
        result: RunResult = handler({k: v for k, v in data.items() if k != "events"})
        if "events" not in data:
            raise ValidationError.from_exception_data(
                cls.__name__, [{"type": "missing", "loc": ("events",), "input": data}]
            )
        result._recorded = _EVENTS.validate_python(data["events"])
        return result

    @computed_field  # type: ignore[prop-decorator]
    @property
    def events(self) -> list[RunEvent]:
        """The run's events in order, built from their compact records on first read."""
        recorded = self._recorded
        if not self._built:
            # In place, so the list a reader got (and may have changed) is the one kept.
            recorded[:] = [e if type(e) is RunEvent else make_event(e[0], e[1], e[2]) for e in recorded]
            self._built = True
        return recorded  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RunResult):
            _ = self.events, other.events  # compare built events, not how they were recorded
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # as BaseModel: mutable, so unhashable

    def outputs_json(self) -> list[Any]:
        """The run's outputs, as JSON."""
        return [o.message for o in self.state.outputs]


class ApprovalResponseError(ValueError):
    """An answer that cannot be applied: unknown request, closed request, or invalid data."""

    def __init__(self, request_id: str, reason: str, errors: list[dict[str, Any]] | None = None) -> None:
        self.request_id = request_id
        self.errors = errors or []
        super().__init__(f"approval request {request_id!r}: {reason}")


@dataclass(slots=True)
class _Run:
    """A run's live state inside the runner: typed values, plus the event sink."""

    workflow: Workflow
    router: Router
    state: RunState
    deliveries: list[Delivery]
    buffers: FanInBuffers
    outputs: list[Emission]
    events: list[_Recorded] = field(default_factory=list)
    sink: Callable[[RunEvent], None] | None = None
    trace: RunTrace | None = None  # the run's span, when telemetry is on


class RunStream:
    """Events of a run as they happen; ``result`` is set once iteration ends."""

    def __init__(self, produce: Callable[[Callable[[RunEvent], None]], Any]) -> None:
        self._produce = produce
        self.result: RunResult | None = None

    async def __aiter__(self) -> AsyncIterator[RunEvent]:
        queue: asyncio.Queue[RunEvent | None] = asyncio.Queue()
        task = asyncio.ensure_future(self._produce(queue.put_nowait))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            if not task.done():
                task.cancel()
        self.result = task.result()


class InMemoryRunner:
    """Runs workflows in this process. Supersteps run their executors concurrently."""

    def __init__(self, workflows: Iterable[Workflow] = (), *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.workflows: dict[str, Workflow] = {w.name: w for w in workflows}
        self.loops = LoopSteps(self.clock)

    async def run(self, workflow: Workflow, input: Any, *, instance_id: str | None = None) -> RunResult:
        """Run the workflow on ``input`` until it completes, fails or waits for approvals."""
        return await self._start(workflow, input, instance_id, None)

    def stream(self, workflow: Workflow, input: Any, *, instance_id: str | None = None) -> RunStream:
        """``run`` as a stream: its events as they happen (``async for``), then its ``result``."""
        return RunStream(lambda sink: self._start(workflow, input, instance_id, sink))

    async def resume(
        self,
        state: RunState | Mapping[str, Any] | str,
        responses: Mapping[str, Any] | None = None,
        *,
        workflow: Workflow | None = None,
        decided_by: str | None = None,
    ) -> RunResult:
        """Continue a paused run: apply answers (validated) and deadlines that have passed."""
        return await self._resume(state, responses or {}, workflow, decided_by, None)

    def stream_resume(
        self,
        state: RunState | Mapping[str, Any] | str,
        responses: Mapping[str, Any] | None = None,
        *,
        workflow: Workflow | None = None,
        decided_by: str | None = None,
    ) -> RunStream:
        """``resume`` as a stream: its events as they happen (``async for``), then its ``result``."""
        return RunStream(lambda sink: self._resume(state, responses or {}, workflow, decided_by, sink))

    async def _start(
        self, workflow: Workflow, input: Any, instance_id: str | None, sink: Callable[[RunEvent], None] | None
    ) -> RunResult:
        message = workflow.validate_input(input)
        state = RunState(workflow=workflow.name, instance_id=instance_id or uuid.uuid4().hex)
        router = Router(workflow)
        run = _Run(workflow, router, state, router.start(message), FanInBuffers(), [], sink=sink)
        run.trace = run_trace(workflow.name, state.instance_id, resumed=False)
        self._emit(run, "run_started")
        return await self._drive(run)

    async def _resume(
        self,
        raw_state: RunState | Mapping[str, Any] | str,
        responses: Mapping[str, Any],
        workflow: Workflow | None,
        decided_by: str | None,
        sink: Callable[[RunEvent], None] | None,
    ) -> RunResult:
        state = _load_state(raw_state)
        workflow = self._resumable(state, workflow)
        run = self._reloaded(workflow, state, sink)
        now = self.clock.now()
        own = {k: v for k, v in responses.items() if "/" not in k}
        answers = self._check_answers(run, own, now)
        emitted: list[Emission] = []
        child_error = await self._resume_children(run, responses, now, decided_by, emitted)
        self._emit(run, "run_resumed")
        if child_error is not None:
            return self._finish(run, child_error)
        for pending, response in answers:
            if self.loops.owner(state, pending.request_id) is not None:  # a looping step's question
                self.loops.decide(workflow, state, pending, response, via="runner", decided_by=decided_by)
            else:
                emitted.append(
                    answer_approval(workflow, pending, response, now=now, via="runner", decided_by=decided_by)
                )
            self._closed(run, pending, outcome="answered", via="runner", decided_by=decided_by)
        expired = [a for a in state.approvals if a.deadline is not None and a.deadline <= now]
        closed = {p.request_id for p, _ in answers} | {a.request_id for a in expired}
        state.approvals = [a for a in state.approvals if a.request_id not in closed]
        expiry_error = self._expire(run, expired, now, emitted)
        if expiry_error is not None:
            return self._finish(run, expiry_error)
        loop_error = await self._resume_loops(run, emitted)
        if loop_error is not None:
            return self._finish(run, loop_error)
        routing_error = self._route(run, emitted)
        if routing_error is not None:
            return self._finish(run, routing_error)
        return await self._drive(run)

    def _resumable(self, state: RunState, workflow: Workflow | None) -> Workflow:
        """The graph ``state`` resumes on; refuses a state of another workflow, or of a finished run."""
        workflow = workflow or self.workflows.get(state.workflow)
        if workflow is None:
            raise KeyError(
                f"unknown workflow {state.workflow!r}: pass workflow= or register it with the runner"
            )
        if workflow.name != state.workflow:
            raise ValueError(f"state belongs to workflow {state.workflow!r}, not {workflow.name!r}")
        if state.status in ("completed", "failed"):
            raise ValueError(f"run {state.instance_id} has already {state.status}; nothing to resume")
        return workflow

    @staticmethod
    def _reloaded(workflow: Workflow, state: RunState, sink: Callable[[RunEvent], None] | None) -> _Run:
        """The run as its checkpoint left it: deliveries, fan-in buffers, map batches, outputs."""
        codec = RoutingCodec(workflow)
        buffers = codec.load_buffers(state.fan_in)
        codec.load_gathering(buffers, state.maps, state.map_batches)
        return _Run(
            workflow,
            Router(workflow),
            state,
            [codec.load_delivery(d) for d in state.deliveries],
            buffers,
            [codec.load_emission(o) for o in state.outputs],
            sink=sink,
            trace=run_trace(workflow.name, state.instance_id, resumed=True),
        )

    def _expire(
        self, run: _Run, expired: list[PendingApproval], now: Any, emitted: list[Emission]
    ) -> RunError | None:
        """Requests past their deadline take their default, escalate, or fail the run (its error)."""
        for pending in expired:
            self._closed(run, pending, outcome="timed_out", via="timeout", decided_by=None)
            if self.loops.owner(run.state, pending.request_id) is not None:  # a looping step's question
                error = self.loops.expire(run.workflow, run.state, pending, now, self._emitter(run))
                if error is not None:
                    return error
                continue
            expiry = expire_approval(run.workflow, pending, now=now)
            if expiry.error is not None:
                return expiry.error
            if expiry.emission is not None:
                emitted.append(expiry.emission)
            if expiry.escalation is not None:
                run.deliveries.append(expiry.escalation)
        return None

    async def _resume_loops(self, run: _Run, emitted: list[Emission]) -> RunError | None:
        """Drive on every paused looping step whose questions are all decided: its output joins
        ``emitted``; a step that asks again pauses again; a failure is the run's (or its item's)."""
        for paused in self.loops.ready(run.state):
            node = run.workflow.nodes[paused.node_id]
            assert isinstance(node, LoopExecutor)
            step = self.loops.step_of(paused)
            result = await self.loops.run(
                run.workflow, run.state, step, paused.superstep, node, self._emitter(run), paused=paused
            )
            if isinstance(result, PausedLoop):
                run.state.loops.append(result)
            elif isinstance(result, RunError):
                return result
            else:
                emitted.append(result)
        return None

    def _emitter(self, run: _Run) -> Callable[..., None]:
        return lambda kind, **fields: self._emit(run, kind, **fields)

    async def _resume_children(
        self,
        run: _Run,
        responses: Mapping[str, Any],
        now: Any,
        decided_by: str | None,
        emitted: list[Emission],
    ) -> RunError | None:
        """Hand each paused sub-workflow its answers ("<child run>/<request>") and passed deadlines; a
        child that completes emits its last output into ``emitted``. Answers for no child are refused
        before anything changes."""
        children = {c.state.instance_id: c for c in run.state.children}
        routed: dict[str, dict[str, Any]] = {}
        for key, answer in responses.items():
            if "/" not in key:
                continue
            owner, inner = key.split("/", 1)
            if owner not in children:
                raise ApprovalResponseError(key, "no such pending approval in this run")
            routed.setdefault(owner, {})[inner] = answer
        kept: list[ChildRun] = []
        for child in run.state.children:
            instance_id = child.state.instance_id
            due = any(a.deadline is not None and a.deadline <= now for a in _all_pending(child.state))
            if instance_id not in routed and not due:
                kept.append(child)
                continue
            node = run.workflow.nodes[child.node_id]
            assert isinstance(node, SubWorkflow)
            try:
                result = await InMemoryRunner([node.workflow], clock=self.clock).resume(
                    child.state, routed.get(instance_id, {}), decided_by=decided_by
                )
            except ApprovalResponseError as exc:
                raise ApprovalResponseError(f"{instance_id}/{exc.request_id}", str(exc), exc.errors) from exc
            item = ItemTag(child.item.batch, child.item.index) if child.item is not None else None
            if result.status == "waiting_for_approval":
                kept.append(child.model_copy(update={"state": result.state}))
            elif result.status == "completed":
                emitted.append(Emission(node.id, result.outputs[-1] if result.outputs else None, item))
            else:
                error = RunError(
                    executor_id=node.id,
                    type="SubWorkflowFailed",
                    message=f"sub-workflow {node.id!r} failed: {result.error}",
                )
                collected = item_failure(run.workflow, Step(Delivery(node.id, None, "", item), 0), error)
                if collected is None:
                    return error
                emitted.append(collected)
        run.state.children = kept
        return None

    def _check_answers(
        self, run: _Run, responses: Mapping[str, Any], now: Any
    ) -> list[tuple[PendingApproval, Any]]:
        """Validate every answer before applying any, so a bad one leaves the run untouched."""
        answers = []
        for request_id, response in responses.items():
            pending = run.state.approval(request_id)
            if pending is None:
                raise ApprovalResponseError(request_id, "no such pending approval in this run")
            if pending.deadline is not None and pending.deadline <= now:
                raise ApprovalResponseError(
                    request_id, f"its deadline {pending.deadline.isoformat()} has passed"
                )
            try:
                answers.append((pending, validate_response(run.workflow, pending, response, strict=True)))
            except ValidationError as exc:
                raise ApprovalResponseError(
                    request_id, f"invalid response: {exc}", exc.errors(include_url=False)
                ) from exc
        return answers

    async def _drive(self, run: _Run) -> RunResult:
        state, workflow = run.state, run.workflow
        while run.deliveries:
            if state.superstep >= workflow.max_supersteps:
                return self._finish(run, superstep_limit_error(workflow, run.deliveries))
            state.superstep += 1
            superstep = state.superstep
            plan = plan_superstep(workflow, run.deliveries)
            self._emit(
                run,
                "superstep_started",
                superstep=superstep,
                data={"executors": [s.executor_id for s in plan.steps]},
            )
            now = self.clock.now() if plan.approvals else None
            for delivery, ordinal in plan.approvals:
                pending = open_approval(workflow, delivery, superstep=superstep, ordinal=ordinal, now=now)
                state.approvals.append(pending)
                self._emit(
                    run,
                    "approval_requested",
                    superstep=superstep,
                    executor_id=pending.approval_id,
                    request_id=pending.request_id,
                    data={"deadline": pending.deadline.isoformat() if pending.deadline else None},
                )
                if run.trace is not None:
                    run.trace.approval_opened(pending.approval_id, pending.request_id, pending.deadline)
            steps = plan.steps
            if len(steps) == 1:  # no gather (and no task) for a superstep of one step
                results = [await self._run_step(run, steps[0], superstep, inline_sync=True)]
            else:
                results = await self._run_steps(run, steps, superstep)
            emitted: list[Emission] = []
            for result in results:
                if type(result) is Emission:
                    emitted.append(result)
                elif isinstance(result, RunError):
                    return self._finish(run, result)
                elif isinstance(result, ChildRun):
                    state.children.append(result)
                elif isinstance(result, PausedLoop):
                    state.loops.append(result)
            self._emit(run, "superstep_completed", superstep=superstep)
            run.deliveries = []
            routing_error = self._route(run, emitted)
            if routing_error is not None:
                return self._finish(run, routing_error)
        if not state.approvals and not state.children and not state.loops:
            return self._finish(run, incomplete_fan_in(workflow, run.buffers))
        return self._finish(run, None)

    def _route(self, run: _Run, emitted: list[Emission]) -> RunError | None:
        """Route ``emitted`` into the next superstep; a raising edge condition fails the run.

        One emission at a time (the same result as all at once) so the failure names its source.
        """
        for emission in emitted:
            try:
                routed = run.router.route([emission], run.buffers)
            except MapItemsError as error:
                return RunError(executor_id=error.source, type="MapItemsRefused", message=str(error))
            except Exception as error:
                return RunError(
                    executor_id=emission.source,
                    type=type(error).__name__,
                    message=f"a condition on an edge from {emission.source!r} raised: {error}",
                )
            run.deliveries.extend(routed.deliveries)
            run.outputs.extend(routed.outputs)
        return None

    async def _run_steps(
        self, run: _Run, steps: list[Step], superstep: int
    ) -> list[Emission | RunError | ChildRun | PausedLoop]:
        if len(steps) == 1:
            return [await self._run_step(run, steps[0], superstep, inline_sync=True)]
        # A map's max_parallel: at most that many of its item steps execute at once.
        limits = {node: asyncio.Semaphore(n) for node, n in parallel_limits(run.workflow).items()}

        async def bounded(step: Step, slot: asyncio.Semaphore) -> Emission | RunError | ChildRun | PausedLoop:
            async with slot:
                return await self._run_step(run, step, superstep, inline_sync=False)

        # One task per step, awaited in order rather than through asyncio.gather: gather's done callback
        # per child and its outer future were ~12 % of a 10,000-item map (bench/NOTES.md). By the time the
        # first task is done the rest mostly are too, so the awaits after it do not suspend.
        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Task[Emission | RunError | ChildRun | PausedLoop]] = []
        for step in steps:
            slot = limits.get(step.executor_id)
            if slot is None:
                tasks.append(loop.create_task(self._run_step(run, step, superstep, inline_sync=False)))
            else:
                tasks.append(loop.create_task(bounded(step, slot)))
        try:
            return [await task for task in tasks]
        except BaseException:
            # Cancelled (or an engine error): no step of this superstep goes on running unowned.
            for task in tasks:
                task.cancel()
            raise

    async def _run_step(
        self, run: _Run, step: Step, superstep: int, *, inline_sync: bool
    ) -> Emission | RunError | ChildRun | PausedLoop:
        node = run.workflow.nodes[step.executor_id]
        if isinstance(node, SubWorkflow):
            return await self._run_child(run, step, superstep, node)
        if isinstance(node, LoopExecutor):
            return await self._run_loop(run, step, superstep, node)
        assert isinstance(node, Executor)
        state = run.state
        key = idempotency_key(state.workflow, state.instance_id, superstep, node.id, step.ordinal)
        attempt = 1
        # A map item's index rides on its step's events, so a failure names the item it failed on.
        at: dict[str, Any] = {"superstep": superstep, "executor_id": node.id}
        if step.delivery.item is not None:
            at["item"] = step.delivery.item.index
        while True:
            ctx = step_context(state.workflow, state.instance_id, node.id, attempt, key)
            self._emit(run, "executor_started", **at, attempt=attempt)
            # Every attempt gets its own copy, as every activity gets its own JSON on the durable
            # runner: no mutation leaks to a fan-out sibling, a later attempt or the caller.
            message = step.delivery.message
            if type(message) not in _IMMUTABLE:
                message = copy.deepcopy(message)
            with step_trace(
                workflow=state.workflow,
                instance_id=state.instance_id,
                executor=node.id,
                superstep=superstep,
                item=step.ordinal,
                attempt=attempt,
                idempotency_key=key,
                parent=run.trace.context if run.trace is not None else None,
            ) as traced:
                # Alone in its superstep, a sync executor has nobody to block but the caller's loop.
                outcome = await run_attempt(node, message, ctx, in_thread=not inline_sync)
                failure = outcome.failure
                delay = None if failure is None else retry_delay(node.retry, failure, attempt)
                traced.finished(
                    error_type=outcome.error.type if outcome.error is not None else None,
                    retried=delay is not None,
                    duration_ms=outcome.duration_ms,
                )
            annotations = dict(ctx.annotations) if ctx.annotations else None
            if outcome.error is None:
                self._emit(
                    run,
                    "executor_completed",
                    **at,
                    attempt=attempt,
                    duration_ms=outcome.duration_ms,
                    data=annotations,
                )
                return Emission(node.id, outcome.output, step.delivery.item)
            self._emit(
                run,
                "executor_failed",
                **at,
                attempt=attempt,
                will_retry=delay is not None,
                max_attempts=node.retry.max_attempts if node.retry is not None else 1,
                duration_ms=outcome.duration_ms,
                error=f"{outcome.error.type}: {outcome.error.message}",
                data=annotations,
            )
            if delay is None:
                return item_failure(run.workflow, step, outcome.error) or outcome.error
            attempt += 1
            self._emit(
                run,
                "executor_retrying",
                **at,
                attempt=attempt,
                data={"delay_ms": delay / timedelta(milliseconds=1)},
            )
            await self.clock.sleep(delay)

    async def _run_loop(
        self, run: _Run, step: Step, superstep: int, node: LoopExecutor
    ) -> Emission | RunError | PausedLoop:
        """A looping step (an agent): its calls made one by one (``step_loops``), under one step span."""
        state = run.state
        message = step.delivery.message
        if type(message) not in _IMMUTABLE:
            message = copy.deepcopy(message)
        step = Step(
            Delivery(step.executor_id, message, step.delivery.source, step.delivery.item), step.ordinal
        )
        with step_trace(
            workflow=state.workflow,
            instance_id=state.instance_id,
            executor=node.id,
            superstep=superstep,
            item=step.ordinal,
            attempt=1,
            idempotency_key=idempotency_key(
                state.workflow, state.instance_id, superstep, node.id, step.ordinal
            ),
            parent=run.trace.context if run.trace is not None else None,
        ) as traced:
            result = await self.loops.run(run.workflow, state, step, superstep, node, self._emitter(run))
            error = result if isinstance(result, RunError) else None
            traced.finished(error_type=error.type if error else None, retried=False, duration_ms=0.0)
        return result

    async def _run_child(
        self, run: _Run, step: Step, superstep: int, node: SubWorkflow
    ) -> Emission | RunError | ChildRun:
        """A sub-workflow step: the child runs nested; it emits its last output, or pauses with the
        parent when a person is asked inside it."""
        child = node.workflow
        instance_id = child_instance_id(run.state.instance_id, node.id, superstep, step.ordinal)
        at: dict[str, Any] = {"superstep": superstep, "executor_id": node.id}
        if step.delivery.item is not None:
            at["item"] = step.delivery.item.index
        self._emit(run, "executor_started", **at, attempt=1)
        result = await InMemoryRunner([child], clock=self.clock).run(
            child, copy.deepcopy(step.delivery.message), instance_id=instance_id
        )
        if result.status == "completed":
            self._emit(run, "executor_completed", **at, attempt=1)
            return Emission(node.id, result.outputs[-1] if result.outputs else None, step.delivery.item)
        if result.status == "waiting_for_approval":
            # The parent pauses too; the child's questions are the parent's to answer (see _resume).
            return ChildRun(node_id=node.id, item=_item_json(step.delivery.item), state=result.state)
        message = f"sub-workflow {node.id!r} failed: {result.error}"
        error = RunError(executor_id=node.id, type="SubWorkflowFailed", message=message)
        # The child's own steps have used their retries: the sub-workflow step is not tried again.
        self._emit(run, "executor_failed", **at, attempt=1, will_retry=False, max_attempts=1, error=message)
        return item_failure(run.workflow, step, error) or error

    def _finish(self, run: _Run, error: RunError | None) -> RunResult:
        state = run.state
        codec = RoutingCodec(run.workflow)
        state.deliveries = [codec.dump_delivery(d) for d in run.deliveries] if error is None else []
        state.fan_in = codec.dump_buffers(run.buffers)
        state.maps, state.map_batches = codec.dump_gathering(run.buffers)
        state.outputs = [codec.dump_emission(o) for o in run.outputs]
        if error is not None:
            # A failed run cannot be resumed: nothing it asked is still open for an answer.
            state.status, state.error, state.approvals = "failed", error, []
            self._emit(run, "run_failed", error=str(error))
        elif state.approvals or state.children or state.loops:
            state.status = "waiting_for_approval"
            asked = [a.request_id for a in _all_pending(state)]
            self._emit(run, "run_waiting", data={"approvals": asked})
        else:
            state.status = "completed"
            self._emit(run, "run_completed")
        if run.trace is not None:
            run.trace.end(state.status, error.type if error is not None else None)
        result = RunResult(
            workflow=state.workflow,
            instance_id=state.instance_id,
            status=state.status,
            outputs=[o.message for o in run.outputs],
            pending_approvals=_all_pending(state),
            error=state.error,
            events=[],
            state=state.model_copy(deep=True),
        )
        result._recorded = run.events
        result._built = run.sink is not None  # a streamed run recorded the events it yielded
        return result

    def _closed(
        self,
        run: _Run,
        pending: PendingApproval,
        *,
        outcome: Literal["answered", "timed_out"],
        via: str,
        decided_by: str | None,
    ) -> None:
        """An approval request closed: the run's event, and its trace's."""
        kind: EventKind = "approval_answered" if outcome == "answered" else "approval_timed_out"
        self._emit(run, kind, executor_id=pending.approval_id, request_id=pending.request_id)
        if run.trace is not None:
            run.trace.approval_closed(
                pending.approval_id, pending.request_id, outcome=outcome, via=via, decided_by=decided_by
            )

    def _emit(self, run: _Run, kind: EventKind, **fields: Any) -> None:
        if run.sink is None:
            # Built only if someone reads RunResult.events. ``data`` is the engine's own fresh dict
            # except a step's annotations, which its call sites copy (as they were at the event).
            run.events.append((kind, self.clock.now(), fields))
            return
        event = make_event(kind, self.clock.now(), fields)
        run.events.append(event)
        run.sink(event)


def _all_pending(state: RunState) -> list[PendingApproval]:
    """The run's own open requests, then those of its paused sub-workflows (named "<child run>/<id>")."""
    pending = list(state.approvals)
    for child in state.children:
        for asked in _all_pending(child.state):
            pending.append(
                asked.model_copy(
                    update={
                        "request_id": f"{child.state.instance_id}/{asked.request_id}",
                        "run": asked.run or child.state.instance_id,
                    }
                )
            )
    return pending


def _item_json(item: ItemTag | None) -> ItemTagJSON | None:
    return ItemTagJSON(batch=item.batch, index=item.index) if item is not None else None


def _load_state(raw: RunState | Mapping[str, Any] | str) -> RunState:
    if isinstance(raw, RunState):
        return raw.model_copy(deep=True)
    if isinstance(raw, str):
        return RunState.model_validate_json(raw)
    return RunState.model_validate(raw)
