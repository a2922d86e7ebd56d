"""The durable runner: a workflow graph replayed by a durable orchestrator.

Each superstep is one ``task_all`` over step activities; an approval is an external event raced with a
durable timer; every ``continue_every`` supersteps the orchestration continues as new with its pending
deliveries, so history (and replay cost) stays bounded. Graph semantics come from ``engine.core``, exactly
as in the in-memory runner; the SDK is reached only through ``OrchestrationContext``.

Everything here runs inside the orchestrator and must be deterministic: time is the context's clock, ids
derive from the instance id, iteration follows declared order. ``Orchestration`` keeps the run's state
on itself, so the history fold (``engine.durable.fold``) reads it after replaying a run.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Generator
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, NoReturn

from pydantic import ValidationError

from engine.core.executor import Executor
from engine.core.graph import Map, Workflow
from engine.core.jsontext import decoded
from engine.core.mapping import ItemFailed, ItemTagJSON
from engine.core.retry import FailureKind, StepTimedOut, classify, retry_delay
from engine.core.routing import Delivery, Emission, FanInBuffers, MapItemsError, Router, RoutingCodec
from engine.core.run_state import ClosedApproval, RunError, RunState
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
from engine.core.versions import VersionNotAvailable, WorkflowVersions
from engine.durable.admission import admitted, child_run_nonce, needs_admission, started_input
from engine.durable.approval_desk import ApprovalDesk
from engine.durable.checkpoint import DEFAULT_CONTINUE_EVERY, OrchestratorInput
from engine.durable.context import DurableTask, OrchestrationContext
from engine.durable.loop_messages import LOOP_ORCHESTRATOR, LoopInput, loop_instance_id
from engine.durable.partition import AskedPartition, PartitionOutput, partition_failure
from engine.durable.partition_starts import PartitionStarts
from engine.durable.run_snapshot import Attempt
from engine.durable.status import RunStatus, build_status
from engine.durable.step_messages import StepRequest, StepResult, final_failure_in
from engine.durable.trail import Continuation, StepRecord, Trail, error_text
from engine.telemetry.episodes import traced_episode

STEP_ACTIVITY = "run_step"
_STEP_RESULT = StepResult.__pydantic_validator__  # StepResult.model_validate without its wrapper
_PARTITION_OUTPUT = PartitionOutput.__pydantic_validator__
_TIMED_OUT = object()  # a step's timer won its race with the step


class WorkflowFailed(Exception):
    """Raised inside the orchestrator to fail the instance; the message is the run's error."""

    def __init__(self, error: RunError) -> None:
        self.error = error
        super().__init__(str(error))


class _Compiled:
    """What an ``Orchestration`` derives from its workflow alone (a workflow is immutable, and none of these
    keeps a run's state), made once per workflow instead of on every episode."""

    __slots__ = ("codec", "limits", "looping", "maps", "router", "subworkflows", "timeouts", "workflow")

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.router = Router(workflow)
        self.codec = RoutingCodec(workflow)
        self.limits = parallel_limits(workflow)
        self.maps = any(isinstance(g, Map) for g in workflow.groups)  # whether a superstep may partition
        self.subworkflows = frozenset(n.id for n in workflow.nodes.values() if isinstance(n, SubWorkflow))
        # Looping steps (agents) run as orchestrations of their own, each call an activity in its history.
        self.looping = frozenset(n.id for n in workflow.nodes.values() if isinstance(n, LoopExecutor))
        self.timeouts = MappingProxyType(
            {
                node.id: node.step_timeout
                for node in workflow.nodes.values()
                if isinstance(node, Executor) and node.step_timeout is not None
            }
        )


_COMPILED: dict[int, _Compiled] = {}  # by id(workflow); each entry holds its workflow, so ids stay its own
_COMPILED_MAX = 256


def _compiled(workflow: Workflow) -> _Compiled:
    found = _COMPILED.get(id(workflow))
    if found is not None and found.workflow is workflow:
        return found
    if len(_COMPILED) >= _COMPILED_MAX:  # many short-lived workflows (tests): start again
        _COMPILED.clear()
    made = _COMPILED[id(workflow)] = _Compiled(workflow)
    return made


class Orchestration:
    """One execution of a run. ``run()`` is the orchestrator body; the attributes are its state."""

    def __init__(
        self,
        workflow: Workflow,
        context: OrchestrationContext,
        *,
        activity: str = STEP_ACTIVITY,
        continue_every: int = DEFAULT_CONTINUE_EVERY,
        started: OrchestratorInput | None = None,
        partitioning: bool = True,
    ) -> None:
        """``continue_every``: the app's setting, recorded in the inputs of the executions and runs this one
        starts (this execution runs by the value its own input records). ``partitioning``: whether a map's
        items above its partition size go to partitions (a partition runs its own items itself)."""
        self.workflow = workflow
        self.context = context
        self.activity = activity
        self.continue_every = continue_every
        compiled = _compiled(workflow)
        self._maps = compiled.maps
        self.router = compiled.router
        self.limits = compiled.limits
        self.subworkflows = compiled.subworkflows
        self.looping = compiled.looping
        self.loops: dict[str, str] = {}  # the looping steps' orchestrations this execution started -> node
        # The round in flight (steps, which of them, their attempts), and when it started: what the event
        # feed says is running.
        self._round: tuple[list[Step], list[int], dict[int, int]] = ([], [], {})
        self.round_started: datetime | None = None
        self.children: dict[str, str] = {}  # sub-workflow runs this execution started: instance id -> name
        self.timeouts = compiled.timeouts
        self.codec = compiled.codec
        self.started = started or started_input(context.get_input())
        self.supersteps_per_execution = self.started.supersteps_per_execution()
        self.executed: set[str] = set(self.started.executed)
        self.running: list[Step] = []  # the steps of the superstep in flight
        # This execution's step attempts, as cheap tuples (rebuilt on every replay); they become the
        # trail's records only when the run continues as new.
        self.attempts_taken: list[Attempt] = []
        checkpoint = self.started.checkpoint
        if checkpoint is not None:
            self.state = checkpoint  # validated from this execution's input: nobody else holds it
            self.deliveries = [self.codec.load_delivery(d) for d in checkpoint.deliveries]
            self.buffers = self.codec.load_buffers(checkpoint.fan_in)
            self.codec.load_gathering(self.buffers, checkpoint.maps, checkpoint.map_batches)
            self.outputs = [self.codec.load_emission(o) for o in checkpoint.outputs]
        else:
            self.state = RunState(workflow=workflow.name, instance_id=context.instance_id)
            self.deliveries, self.buffers, self.outputs = [], FanInBuffers(), []
        self.execution_started = context.current_utc_datetime  # the run's start, in its first execution
        # Every map partition this execution starts (a partition itself starts none: ``partitioning``).
        self.starts = PartitionStarts(workflow, context, self.started, self.state, enabled=partitioning)
        self.approvals = ApprovalDesk(workflow, context, self.state, self.started, self.starts, self.fail)

    @property
    def closed(self) -> list[ClosedApproval]:
        """How requests of this run closed (carried across continue-as-new)."""
        return self.approvals.closed

    @property
    def asking(self) -> dict[str, tuple[AskedPartition, DurableTask]]:
        """The partitions of a map's approvals this execution waits for, by instance id."""
        return self.approvals.asking

    @property
    def partitions(self) -> dict[str, str]:
        """Every map partition this execution started: instance id -> the map's node."""
        return self.starts.started_ids

    @property
    def in_flight(self) -> list[tuple[Step, int]]:
        """The attempts of the round in flight: each step and its attempt number."""
        steps, shown, attempts = self._round
        return [(steps[i], attempts[i]) for i in shown]

    @property
    def input(self) -> Any:
        """The run's input as JSON (after continue-as-new: as carried in the checkpoint)."""
        return self.started.input

    def run(self) -> Generator[Any, Any, list[Any]]:
        """The orchestrator body; returns the run's outputs (JSON)."""
        workflow, state = self.workflow, self.state
        if self.started.checkpoint is None:
            try:
                self.deliveries = self.router.start(workflow.validate_input(self.started.input))
            except ValidationError as exc:
                self.fail(RunError(type="InvalidInput", message=str(exc)))
        supersteps_here = 0
        while True:
            while self.deliveries:
                if state.superstep >= workflow.max_supersteps:
                    self.fail(superstep_limit_error(workflow, self.deliveries))
                if supersteps_here >= self.supersteps_per_execution and not self.asking:
                    self._continue_as_new()
                    return []
                supersteps_here += 1
                state.superstep += 1
                plan = plan_superstep(workflow, self.deliveries)
                if plan.approvals:
                    self.approvals.ask(plan.approvals, self.context.current_utc_datetime)
                emissions = yield from self.run_superstep(plan.steps)
                self._route(emissions, [])
            if not self.approvals.waiting:
                break
            self.publish()
            emitted, escalations = yield from self.approvals.decide()
            self._route(emitted, escalations)
        incomplete = incomplete_fan_in(workflow, self.buffers)
        if incomplete is not None:
            self.fail(incomplete)
        state.status = "completed"
        self.publish()
        return [self.codec.dump_emission(o).message for o in self.outputs]

    def _route(self, emitted: list[Emission], escalations: list[Delivery]) -> None:
        try:
            routed = self.router.route(emitted, self.buffers)
        except MapItemsError as error:
            self.fail(RunError(executor_id=error.source, type="MapItemsRefused", message=str(error)))
        self.deliveries = escalations + routed.deliveries
        self.outputs.extend(routed.outputs)

    def _continue_as_new(self) -> None:
        state, codec = self.state, self.codec
        state.deliveries = [codec.dump_delivery(d) for d in self.deliveries]
        state.fan_in = codec.dump_buffers(self.buffers)
        state.maps, state.map_batches = codec.dump_gathering(self.buffers)
        state.outputs = [codec.dump_emission(o) for o in self.outputs]
        self.context.continue_as_new(
            OrchestratorInput(
                input=self.started.input,
                checkpoint=state,
                executed=sorted(self.executed),
                closed=self.closed,
                strict_answers=self.started.strict_answers,
                signed_answers=self.started.signed_answers,
                version=self.started.version,
                fingerprint=self.started.fingerprint,
                trail=self._trail().model_dump(mode="json"),
                traceparent=self.started.traceparent,
                run_nonce=self.started.run_nonce,
                continue_every=self.continue_every,
            ).model_dump(mode="json")
        )

    def _trail(self) -> Trail:
        trail = self.started.read_trail()
        if trail.started_at is None:
            trail = trail.model_copy(update={"started_at": self.execution_started})
        continuation = Continuation(
            after_superstep=self.state.superstep, at=self.context.current_utc_datetime
        )
        return trail.carried(self._step_records(), continuation, self.children)

    def _step_records(self) -> list[StepRecord]:
        records = []
        for step, attempt, scheduled, completed, result, _ in self.attempts_taken:
            agent = result.annotations.get("agent")
            tokens = agent.get("total_tokens") if isinstance(agent, dict) else None
            records.append(
                StepRecord(
                    executor=step.executor_id,
                    superstep=result.step.superstep if result.step else self.state.superstep,
                    ordinal=step.ordinal,
                    attempt=attempt,
                    ok=result.ok,
                    scheduled=scheduled,
                    completed=completed,
                    duration_ms=result.duration_ms,
                    error=error_text(result.error.type, result.error.message) if result.error else None,
                    tokens=tokens if isinstance(tokens, int) else None,
                )
            )
        return records

    def publish(self) -> None:
        """Set the run's small custom status (counts only: ``engine.durable.status``)."""
        ended = self.state.status in ("completed", "failed")
        self.context.set_custom_status(
            build_status(
                self.state,
                running=len(self.running),
                executed=len(self.executed),
                asked=self.approvals.asked_in_partitions,
                started_at=self.run_started,
                ended_at=self.context.current_utc_datetime if ended else None,
            )
        )

    @functools.cached_property
    def run_started(self) -> datetime:
        """When the run's first execution started (the trail carries it across continue-as-new)."""
        return self.started.trail_started_at() or self.execution_started

    # --- steps ---------------------------------------------------------------------------------------

    def run_superstep(self, steps: list[Step]) -> Generator[Any, Any, list[Emission]]:
        """Run every step of a superstep; retry failed ones in rounds, each after a durable timer."""
        context = self.context
        results: dict[int, Emission] = {}
        attempts = dict.fromkeys(range(len(steps)), 1)
        parts = self.starts.group(step.delivery for step in steps) if self._maps else []
        if parts:
            inside = {index for part in parts for index in part}
            todo = [index for index in range(len(steps)) if index not in inside]
        else:
            todo = list(range(len(steps)))
        while todo or parts:
            todo, later = self._window(steps, todo) if self.limits else (todo, [])
            self._show_round(steps, todo, parts, attempts)
            calls, timers = self._calls(steps, todo, attempts)
            # Partitions start with the first round and retry their items themselves.
            every = calls + self._start_partitions(steps, parts) if parts else calls
            scheduled = self.round_started = context.current_utc_datetime
            replies = yield from self._replies(every)
            times = (scheduled, context.current_utc_datetime)
            if parts:
                for part, reply in zip(parts, replies[len(calls) :], strict=True):
                    self._take_partition(steps, part, reply, results, times)
                replies, parts = replies[: len(calls)], []
            again, wait = self._take_round(steps, todo, replies, timers, attempts, results, times)
            if again and wait > timedelta(0):
                yield context.create_timer(context.current_utc_datetime + wait)
            todo = again + later
        self.running, self._round = [], ([], [], {})
        return [results[i] for i in sorted(results)]

    def _show_round(
        self, steps: list[Step], todo: list[int], parts: list[list[int]], attempts: dict[int, int]
    ) -> None:
        """Say which steps run now (the view and the feed read it), and publish it when it is news."""
        # A partition's items run in its own orchestration: shown as running here until it is done.
        shown = todo + [i for part in parts for i in part] if parts else todo
        self.running = [steps[i] for i in shown]
        self._round = (steps, shown, attempts)  # what runs now, read (rarely) through in_flight
        if not self.context.is_replaying:
            # Only the status set after replay survives the episode; building it for replayed
            # supersteps would cost every episode time proportional to the whole history.
            self.publish()

    def _start_partitions(self, steps: list[Step], parts: list[list[int]]) -> list[DurableTask]:
        per_node = Counter(steps[part[0]].executor_id for part in parts)
        return [
            self._start_partition(steps, part, number, per_node[steps[part[0]].executor_id])
            for number, part in enumerate(parts)
        ]

    def _replies(self, every: list[DurableTask]) -> Generator[Any, Any, list[Any]]:
        """Each task's reply, or the exception it failed with, in order."""
        try:
            # One step alone is awaited directly: a one-task task_all costs the SDK a compound task on
            # every replay of every superstep of a chain.
            return [(yield every[0])] if len(every) == 1 else (yield self.context.task_all(every))
        except Exception as exc:
            # A step failed for good (the activity raised) and task_all gave up at once. Its siblings are
            # still awaited, so their results are in the history when a rewind runs it again.
            return [exc] if len(every) == 1 else (yield from self._settle(every))

    def _take_round(
        self,
        steps: list[Step],
        todo: list[int],
        replies: list[Any],
        timers: dict[int, DurableTask],
        attempts: dict[int, int],
        results: dict[int, Emission],
        times: tuple[datetime, datetime],
    ) -> tuple[list[int], timedelta]:
        """Take a round's replies in: the steps to attempt again, and how long to wait before."""
        wait = timedelta(0)
        again: list[int] = []
        for position, (index, reply) in enumerate(zip(todo, replies, strict=True)):
            timer = timers.get(position) if timers else None
            if timer is not None:  # raced with its timeout: the winner says which
                reply = _TIMED_OUT if reply is timer else reply.result
                if reply is not _TIMED_OUT:
                    timer.cancel()
            delay = self._take_step(steps[index], index, attempts[index], reply, results, times)
            if delay is not None:
                attempts[index] += 1
                wait = max(wait, delay)
                again.append(index)
        return again, wait

    def _take_step(
        self,
        step: Step,
        index: int,
        attempt: int,
        reply: Any,
        results: dict[int, Emission],
        times: tuple[datetime, datetime],
    ) -> timedelta | None:
        """Take one attempt's reply in: its output (or its item's collected failure) into ``results``,
        or the delay before the step's next attempt; a step failed for good otherwise fails the run."""
        if step.executor_id in self.subworkflows:
            result = self._child_result(step, reply)
        else:
            result = self._result(step, attempt, reply)
        self.attempts_taken.append(Attempt(step, attempt, *times, result, self.state.superstep))
        node = self.workflow.nodes[step.executor_id]
        if result.ok:
            self.executed.add(step.executor_id)
            item = step.delivery.item
            if result.output is not None or item is not None:  # an item keeps its place
                # The adapter's validator itself: TypeAdapter.validate_python only adds its defaults.
                results[index] = Emission(
                    step.executor_id, node.output_adapter.validator.validate_python(result.output), item
                )
            return None
        error = result.error or RunError(executor_id=step.executor_id, type="StepFailed", message=str(reply))
        retry = node.retry if isinstance(node, Executor) else None
        retry_after = (
            timedelta(milliseconds=result.retry_after_ms) if result.retry_after_ms is not None else None
        )
        delay = retry_delay(retry, FailureKind(result.retryable, retry_after), attempt)
        if delay is None:
            collected = item_failure(self.workflow, step, error)
            if collected is None:
                self.fail(error)
            results[index] = collected
        return delay

    def _start_partition(
        self, steps: list[Step], part: list[int], number: int, partitions: int
    ) -> DurableTask:
        """Partition ``number`` of ``partitions`` of a map's items in this superstep: a sub-orchestration."""
        executor_id = steps[part[0]].executor_id
        node = self.workflow.nodes[executor_id]
        limit = self.limits.get(executor_id)
        # The map's max_parallel holds across its partitions: each gets its share.
        share = max(1, limit // partitions) if limit is not None else None
        items = [(steps[i].delivery, steps[i].ordinal) for i in part]
        data = self.starts.input(executor_id, items, node.input_adapter.dump_python, share)
        if isinstance(node, LoopExecutor) and node.step_approvals():
            # Its agent steps ask people before a tool: their answers are signed for this run, and the
            # steps' orchestrations (started by the partition) verify them as this run's.
            data |= self.started.answers_binding()
        if isinstance(node, SubWorkflow):
            # Its items' sub-workflow runs are this run's children (their ids derive from this run).
            for _, ordinal in items:
                child = child_instance_id(self.state.instance_id, node.id, self.state.superstep, ordinal)
                self.children.setdefault(child, node.workflow.name)
        return self.starts.start(executor_id, number, data)[1]

    def _take_partition(
        self,
        steps: list[Step],
        part: list[int],
        reply: Any,
        results: dict[int, Emission],
        times: tuple[datetime, datetime],
    ) -> None:
        """A partition's item outputs, each in its item's place, and each item's last attempt as one this
        run took in (so map progress, the feed and the trail count them); a failed partition fails the run
        with the item's error."""
        failed = partition_failure(reply)
        if failed is not None:
            self.fail(failed)
        by_ordinal = {steps[i].ordinal: i for i in part}
        node = self.workflow.nodes[steps[part[0]].executor_id]
        # Per item, on every replay of the run: the validators themselves (model_validate and
        # TypeAdapter.validate_python only add their defaults).
        validate_output = node.output_adapter.validator.validate_python
        taken, superstep = self.attempts_taken, self.state.superstep
        for raw in decoded(reply) or []:
            output = _PARTITION_OUTPUT.validate_python(raw)
            index = by_ordinal[output.ordinal]
            step = steps[index]
            if output.failed:
                value = ItemFailed.model_validate(output.value)
                outcome = StepResult(ok=False, error=value.error)
            else:
                value = validate_output(output.value)
                outcome = StepResult(ok=True, output=output.value)
                self.executed.add(step.executor_id)
            results[index] = Emission(step.executor_id, value, step.delivery.item)
            taken.append(Attempt(step, output.attempt, *times, outcome, superstep))

    def _window(self, steps: list[Step], todo: list[int]) -> tuple[list[int], list[int]]:
        """The steps to start now and those that wait for a slot: a map's ``max_parallel`` lets that many
        of its item steps execute at once (in waves: the next starts when the current has finished)."""
        if not self.limits:
            return todo, []
        taken: dict[str, int] = {}
        now: list[int] = []
        later: list[int] = []
        for index in todo:
            executor_id = steps[index].executor_id
            limit = self.limits.get(executor_id)
            if limit is not None and taken.get(executor_id, 0) >= limit:
                later.append(index)
                continue
            taken[executor_id] = taken.get(executor_id, 0) + 1
            now.append(index)
        return now, later

    def _calls(
        self, steps: list[Step], todo: list[int], attempts: dict[int, int]
    ) -> tuple[list[DurableTask], dict[int, DurableTask]]:
        """The step activities to await; a step whose executor has a timeout is raced with a durable timer
        (by position: the timer)."""
        context = self.context
        timers: dict[int, DurableTask] = {}
        if not self.timeouts and not self.subworkflows and not self.looping:  # the common case, every replay
            activity, request = self.activity, self._request
            return [context.call_activity(activity, request(steps[i], attempts[i])) for i in todo], timers
        calls: list[DurableTask] = []
        for position, index in enumerate(todo):
            step = steps[index]
            node = self.workflow.nodes[step.executor_id]
            if isinstance(node, SubWorkflow):
                calls.append(self._start_child(step, node))
                continue
            if isinstance(node, LoopExecutor):
                call = self._start_loop(step, attempts[index])
            else:
                call = context.call_activity(self.activity, self._request(step, attempts[index]))
            limit = self.timeouts.get(step.executor_id)
            if limit is not None:
                timer = context.create_timer(context.current_utc_datetime + limit)
                timers[position] = timer
                call = context.task_any([call, timer])
            calls.append(call)
        return calls, timers

    def _start_child(self, step: Step, node: SubWorkflow) -> DurableTask:
        """A sub-workflow's run: a sub-orchestration with an id derived from this run and the step, pinned
        to the child graph's version as any run is."""
        child = node.workflow
        instance_id = child_instance_id(self.state.instance_id, node.id, self.state.superstep, step.ordinal)
        if instance_id not in self.children:
            self.children[instance_id] = child.name
        message = node.input_adapter.dump_python(step.delivery.message, mode="json")
        # The child joins this run's trace.
        started = OrchestratorInput.start(
            message,
            workflow=child,
            traceparent=self.started.traceparent,
            run_nonce=child_run_nonce(self.started, instance_id, self.context),
            continue_every=self.continue_every,
        ).model_dump(mode="json")
        return self.context.call_sub_orchestrator(child.name, started, instance_id)

    def _start_loop(self, step: Step, attempt: int) -> DurableTask:
        """A looping step's attempt: a sub-orchestration (``engine.durable.loop_orchestration``) whose id
        derives from this run and the step, and whose result is the step's ``StepResult``."""
        workflow, state, started = self.workflow, self.state, self.started
        node = workflow.nodes[step.executor_id]
        instance_id = loop_instance_id(state.instance_id, node.id, state.superstep, step.ordinal, attempt)
        self.loops[instance_id] = node.id
        item = step.delivery.item
        data = LoopInput(
            workflow=workflow.name,
            version=started.version,
            fingerprint=started.fingerprint,
            traceparent=started.traceparent,
            instance_id=state.instance_id,
            executor=node.id,
            superstep=state.superstep,
            ordinal=step.ordinal,
            attempt=attempt,
            idempotency_key=idempotency_key(
                workflow.name, state.instance_id, state.superstep, node.id, step.ordinal
            ),
            message=node.input_adapter.dump_python(step.delivery.message, mode="json"),
            item=ItemTagJSON(batch=item.batch, index=item.index) if item is not None else None,
            strict_answers=started.strict_answers,
            signed_answers=started.signed_answers,
            run_nonce=started.run_nonce,
        )
        return self.context.call_sub_orchestrator(
            LOOP_ORCHESTRATOR, data.model_dump(mode="json"), instance_id
        )

    def _child_result(self, step: Step, reply: Any) -> StepResult:
        """A sub-workflow step's result: its run's last output, or its failure (final: the child already
        retried its own steps)."""
        if isinstance(reply, Exception):
            # The SDK joins the failure's reason and details, which repeat each other: the reason.
            reason = str(reply).split(" \n ")[0]
            error = RunError(
                executor_id=step.executor_id,
                type="SubWorkflowFailed",
                message=f"sub-workflow {step.executor_id!r} failed: {reason}",
            )
            return StepResult(ok=False, error=error)
        outputs = decoded(reply)
        last = outputs[-1] if isinstance(outputs, list) and outputs else None
        return StepResult(ok=True, output=last)

    def _settle(self, calls: list[DurableTask]) -> Generator[Any, Any, list[Any]]:
        """Each call's reply, or the exception it failed with, in order."""
        replies: list[Any] = []
        for call in calls:
            try:
                replies.append((yield call))
            except Exception as exc:
                replies.append(exc)
        return replies

    def _request(self, step: Step, attempt: int) -> dict[str, Any]:
        """The step's ``StepRequest`` as JSON (built for every step on every replay; the activity
        validates it on arrival)."""
        workflow, state = self.workflow, self.state
        node = workflow.nodes[step.executor_id]
        return StepRequest.wire(
            workflow=workflow.name,
            executor=step.executor_id,
            instance_id=state.instance_id,
            superstep=state.superstep,
            ordinal=step.ordinal,
            attempt=attempt,
            version=self.started.version,
            idempotency_key=idempotency_key(
                workflow.name, state.instance_id, state.superstep, node.id, step.ordinal
            ),
            # The adapter's serializer itself: TypeAdapter.dump_python only adds its defaults.
            message=node.input_adapter.serializer.to_python(step.delivery.message, mode="json"),
            traceparent=self.started.traceparent,
        )

    def _result(self, step: Step, attempt: int, reply: Any) -> StepResult:
        """The reply as a ``StepResult`` of this very step; anything else fails the run. A failed
        activity is a final failure, whatever its result says about retrying."""
        if reply is _TIMED_OUT:
            node = self.workflow.nodes[step.executor_id]
            assert isinstance(node, Executor) and node.step_timeout is not None
            timed_out = StepTimedOut(node.id, node.step_timeout)
            return StepResult(
                ok=False,
                error=RunError(executor_id=node.id, type="StepTimedOut", message=str(timed_out)),
                retryable=classify(timed_out, node.retry).retryable,
            )
        if isinstance(reply, Exception):
            found = final_failure_in(str(reply))
            result = (
                found.model_copy(update={"retryable": False})
                if found is not None
                else StepResult(
                    ok=False,
                    # The SDK joins the host's reason and details (the traceback): callers get the reason.
                    error=RunError(
                        executor_id=step.executor_id,
                        type="StepActivityFailed",
                        message=str(reply).split(" \n ", 1)[0],
                    ),
                )
            )
        else:
            try:
                result = _STEP_RESULT.validate_python(decoded(reply))
            except ValidationError as exc:
                self.fail(
                    RunError(
                        executor_id=step.executor_id,
                        type="StepFailed",
                        message=f"the step activity answered something that is not a step result: {exc}",
                    )
                )
        superstep = self.state.superstep
        got = result.step
        if got is not None and not got.is_step(step.executor_id, superstep, attempt, step.ordinal):
            self.fail(
                RunError(
                    executor_id=step.executor_id,
                    type="NonDeterministicReplay",
                    message=f"the history holds the result of step {got.executor!r} (superstep "
                    f"{got.superstep}, attempt {got.attempt}) where this code expects "
                    f"{step.executor_id!r} (superstep {superstep}, attempt {attempt}): "
                    "the workflow changed under a run in flight",
                )
            )
        return result

    def fail(self, error: RunError) -> NoReturn:
        """Fail the run with ``error``: its status says so, and the orchestrator raises ``WorkflowFailed``."""
        state = self.state
        state.status, state.error = "failed", error
        state.approvals = []
        self.running, self._round = [], ([], [], {})
        self.publish()
        raise WorkflowFailed(error)


def orchestrate(
    workflow: Workflow | WorkflowVersions,
    context: OrchestrationContext,
    *,
    activity: str = STEP_ACTIVITY,
    continue_every: int = DEFAULT_CONTINUE_EVERY,
    name: str | None = None,
) -> Generator[Any, Any, list[Any]]:
    """The orchestrator body for one workflow (or for workflow ``name`` among several versions: the run
    replays on the graph it started on); returns the run's outputs (JSON)."""
    started = started_input(context.get_input())
    if isinstance(workflow, WorkflowVersions):
        assert name is not None
        try:
            workflow = workflow.for_run(name, started.version, started.fingerprint)
        except VersionNotAvailable as exc:
            error = RunError(type="VersionNotAvailable", message=str(exc))
            context.set_custom_status(
                RunStatus(workflow=name, phase="failed", error=error).model_dump(mode="json")
            )
            raise WorkflowFailed(error) from None
    if needs_admission(started, context):
        # Started around the workflow API: become the run a start through it would have made, first.
        context.continue_as_new(admitted(started, workflow, context, continue_every).model_dump(mode="json"))
        return []
    orchestration = Orchestration(
        workflow, context, activity=activity, continue_every=continue_every, started=started
    )
    return (
        yield from traced_episode(
            orchestration.run(),
            context,
            workflow=workflow.name,
            instance_id=context.instance_id,
            version=started.version,
            traceparent=started.traceparent,
            progress=lambda: (
                orchestration.state.superstep,
                orchestration.state.status,
                orchestration.state.approvals,
                orchestration.closed,
            ),
        )
    )
