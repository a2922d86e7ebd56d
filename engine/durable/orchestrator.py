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

import dataclasses
from collections import Counter
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from engine.core.approval import Approval
from engine.core.approval_requests import answer_approval, expire_approval, open_approval, validate_response
from engine.core.executor import Executor
from engine.core.graph import Workflow
from engine.core.jsontext import decoded
from engine.core.mapping import ItemFailed
from engine.core.retry import FailureKind, StepTimedOut, classify, retry_delay
from engine.core.routing import Delivery, Emission, FanInBuffers, MapItemsError, Router, RoutingCodec
from engine.core.run_state import ClosedApproval, PendingApproval, RunError, RunState
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
from engine.durable.answers import ENVELOPE, VERIFY_ACTIVITY, AnswerEnvelope, Verdict, VerifyRequest
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.context import DurableTask, OrchestrationContext
from engine.durable.partition import (
    PARTITION_ORCHESTRATOR,
    AskedPartition,
    PartitionOutput,
    partition_error,
    partition_instance_id,
)
from engine.durable.run_snapshot import Attempt
from engine.durable.status import RunStatus, build_status
from engine.durable.step_messages import StepRequest, StepResult, final_failure_in
from engine.durable.trail import Continuation, StepRecord, Trail, error_text
from engine.telemetry.episodes import traced_episode

STEP_ACTIVITY = "run_step"
_TIMED_OUT = object()  # a step's timer won its race with the step
# Each replay re-reads the whole history of the current execution, so a run's total replay cost grows
# with (supersteps x supersteps per execution). 20 keeps that ~2x below a hand-written orchestrator
# already at 50 supersteps (bench/RESULTS.md has the sweep), while a timeline still shows 20 supersteps.
DEFAULT_CONTINUE_EVERY = 20


class WorkflowFailed(Exception):
    """Raised inside the orchestrator to fail the instance; the message is the run's error."""

    def __init__(self, error: RunError) -> None:
        self.error = error
        super().__init__(str(error))


@dataclass(frozen=True, slots=True)
class _Answer:
    """A valid answer to a pending approval, and who gave it, as far as a signature vouches."""

    response: Any
    decided_by: str | None
    via: str
    answer_id: str | None = None
    link: str | None = None


@dataclass
class _Waits:
    """Open event waits and deadline timers, kept across loop turns: re-waiting would orphan a task."""

    events: dict[str, DurableTask] = field(default_factory=dict)
    timers: dict[str, DurableTask] = field(default_factory=dict)


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
    ) -> None:
        self.workflow = workflow
        self.context = context
        self.activity = activity
        self.continue_every = continue_every
        self.router = Router(workflow)
        self.limits = parallel_limits(workflow)
        self.partitioning = True  # a partition runs its items itself
        # Partitions of map approvals this execution asked and waits for, by instance id: the run waits
        # for each as for one approval (and never continues as new while one is out: its reply would go
        # to an execution that no longer exists).
        self.asking: dict[str, tuple[AskedPartition, DurableTask]] = {}
        # Every partition this execution started (steps and approvals), by instance id: its map's node.
        self.partitions: dict[str, str] = {}
        self.subworkflows = {n.id for n in workflow.nodes.values() if isinstance(n, SubWorkflow)}
        # The round in flight (steps, which of them, their attempts), and when it started: what the event
        # feed says is running.
        self._round: tuple[list[Step], list[int], dict[int, int]] = ([], [], {})
        self.round_started: datetime | None = None
        self.children: dict[str, str] = {}  # sub-workflow runs this execution started: instance id -> name
        self.timeouts = {
            node.id: node.step_timeout
            for node in workflow.nodes.values()
            if isinstance(node, Executor) and node.step_timeout is not None
        }
        self.codec = RoutingCodec(workflow)
        self.started = started or started_input(context.get_input())
        self.strict_answers = self.started.strict_answers
        self.signed_answers = self.started.signed_answers
        self.answers_seen: dict[str, int] = {}  # envelopes verified per request, in this execution
        self.executed: set[str] = set(self.started.executed)
        self.closed: list[ClosedApproval] = list(self.started.closed)
        self.running: list[Step] = []  # the steps of the superstep in flight
        self.waits = _Waits()
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
                self._fail(RunError(type="InvalidInput", message=str(exc)))
        supersteps_here = 0
        while True:
            while self.deliveries:
                if state.superstep >= workflow.max_supersteps:
                    self._fail(superstep_limit_error(workflow, self.deliveries))
                if supersteps_here >= self.continue_every and not self.asking:
                    self._continue_as_new()
                    return []
                supersteps_here += 1
                state.superstep += 1
                plan = plan_superstep(workflow, self.deliveries)
                if plan.approvals:
                    now = self.context.current_utc_datetime
                    for delivery, ordinal in self._ask_in_partitions(plan.approvals, now):
                        state.approvals.append(
                            open_approval(
                                workflow, delivery, superstep=state.superstep, ordinal=ordinal, now=now
                            )
                        )
                emissions = yield from self._run_superstep(plan.steps)
                self._route(emissions, [])
            if not state.approvals and not self.asking:
                break
            self._publish()
            emitted, escalations = yield from self._await_approvals()
            self._route(emitted, escalations)
        incomplete = incomplete_fan_in(workflow, self.buffers)
        if incomplete is not None:
            self._fail(incomplete)
        state.status = "completed"
        self._publish()
        return [self.codec.dump_emission(o).message for o in self.outputs]

    def _route(self, emitted: list[Emission], escalations: list[Delivery]) -> None:
        try:
            routed = self.router.route(emitted, self.buffers)
        except MapItemsError as error:
            self._fail(RunError(executor_id=error.source, type="MapItemsRefused", message=str(error)))
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
                strict_answers=self.strict_answers,
                signed_answers=self.signed_answers,
                version=self.started.version,
                fingerprint=self.started.fingerprint,
                trail=self._trail().model_dump(mode="json"),
                traceparent=self.started.traceparent,
                run_nonce=self.started.run_nonce,
            ).model_dump(mode="json")
        )

    def _trail(self) -> Trail:
        trail = self.started.read_trail()
        if trail.started_at is None:
            trail = trail.model_copy(update={"started_at": self.execution_started})
        continuation = Continuation(
            after_superstep=self.state.superstep, at=self.context.current_utc_datetime
        )
        return trail.carried(self._step_records(), continuation)

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

    def _publish(self) -> None:
        self.context.set_custom_status(
            build_status(
                self.state,
                running=len(self.running),
                executed=len(self.executed),
                asked=sum(len(asked.ordinals) for asked, _ in self.asking.values()),
            )
        )

    # --- steps ---------------------------------------------------------------------------------------

    def _run_superstep(self, steps: list[Step]) -> Generator[Any, Any, list[Emission]]:
        """Run every step of a superstep; retry failed ones in rounds, each after a durable timer."""
        context = self.context
        results: dict[int, Emission] = {}
        attempts = dict.fromkeys(range(len(steps)), 1)
        parts = self._partitions(step.delivery for step in steps)
        inside = {index for part in parts for index in part}
        todo = [index for index in range(len(steps)) if index not in inside]
        while todo or parts:
            todo, later = self._window(steps, todo)
            # A partition's items run in its own orchestration: shown as running here until it is done.
            shown = todo + [i for part in parts for i in part] if parts else todo
            self.running = [steps[i] for i in shown]
            self._round = (steps, shown, attempts)  # what runs now, read (rarely) through in_flight
            if not context.is_replaying:
                # Only the status set after replay survives the episode; building it for replayed
                # supersteps would cost every episode time proportional to the whole history.
                self._publish()
            calls, timers = self._calls(steps, todo, attempts)
            every = calls
            if parts:  # partitions start with the first round and retry their items themselves
                per_node = Counter(steps[part[0]].executor_id for part in parts)
                every = calls + [
                    self._start_partition(steps, part, number, per_node[steps[part[0]].executor_id])
                    for number, part in enumerate(parts)
                ]
            scheduled = self.round_started = context.current_utc_datetime
            try:
                # One step alone is awaited directly: a one-task task_all costs the SDK a compound task
                # on every replay of every superstep of a chain.
                replies = [(yield every[0])] if len(every) == 1 else (yield context.task_all(every))
            except Exception as exc:
                # A step failed for good (the activity raised) and task_all gave up at once. Its siblings
                # are still awaited, so their results are in the history when a rewind runs it again.
                replies = [exc] if len(every) == 1 else (yield from self._settle(every))
            completed = context.current_utc_datetime
            for part, reply in zip(parts, replies[len(calls) :], strict=True):
                self._take_partition(steps, part, reply, results, (scheduled, completed))
            parts, replies = [], replies[: len(calls)]
            wait = timedelta(0)
            again: list[int] = []
            for position, (index, reply) in enumerate(zip(todo, replies, strict=True)):
                step = steps[index]
                timer = timers.get(position)
                if timer is not None:  # raced with its timeout: the winner says which
                    reply = _TIMED_OUT if reply is timer else reply.result
                    if reply is not _TIMED_OUT:
                        timer.cancel()
                if step.executor_id in self.subworkflows:
                    result = self._child_result(step, reply)
                else:
                    result = self._result(step, attempts[index], reply)
                taken = Attempt(step, attempts[index], scheduled, completed, result, self.state.superstep)
                self.attempts_taken.append(taken)
                if result.ok:
                    self.executed.add(step.executor_id)
                    item = step.delivery.item
                    if result.output is not None or item is not None:  # an item keeps its place
                        node = self.workflow.nodes[step.executor_id]
                        results[index] = Emission(
                            step.executor_id, node.output_adapter.validate_python(result.output), item
                        )
                    continue
                error = result.error or RunError(
                    executor_id=step.executor_id, type="StepFailed", message=str(reply)
                )
                node = self.workflow.nodes[step.executor_id]
                retry = node.retry if isinstance(node, Executor) else None
                retry_after = (
                    timedelta(milliseconds=result.retry_after_ms)
                    if result.retry_after_ms is not None
                    else None
                )
                delay = retry_delay(retry, FailureKind(result.retryable, retry_after), attempts[index])
                if delay is None:
                    collected = item_failure(self.workflow, step, error)
                    if collected is None:
                        self._fail(error)
                    results[index] = collected
                    continue
                attempts[index] += 1
                wait = max(wait, delay)
                again.append(index)
            if again and wait > timedelta(0):
                yield context.create_timer(context.current_utc_datetime + wait)
            todo = again + later
        self.running, self._round = [], ([], [], {})
        return [results[i] for i in sorted(results)]

    def _partitions(self, deliveries: Iterable[Delivery]) -> list[list[int]]:
        """The positions of the item deliveries (steps or approvals) of maps with more items than their
        partition size, in partitions of that size (in order); none inside a partition itself."""
        if not self.partitioning:
            return []
        by_node: dict[str, list[int]] = {}
        for index, delivery in enumerate(deliveries):
            if delivery.item is not None:
                by_node.setdefault(delivery.target, []).append(index)
        parts: list[list[int]] = []
        for executor_id, indexes in by_node.items():
            group = self.workflow.map_of(executor_id)
            size = group.partition_size if group is not None else 0
            if size and len(indexes) > size:
                parts += [indexes[i : i + size] for i in range(0, len(indexes), size)]
        return parts

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
        data = self._partition_input(executor_id, items, node.input_adapter.dump_python, share)
        instance_id = partition_instance_id(self.state.instance_id, executor_id, self.state.superstep, number)
        self.partitions[instance_id] = executor_id
        if isinstance(node, SubWorkflow):
            # Its items' sub-workflow runs are this run's children (their ids derive from this run).
            for _, ordinal in items:
                child = child_instance_id(self.state.instance_id, node.id, self.state.superstep, ordinal)
                self.children.setdefault(child, node.workflow.name)
        return self.context.call_sub_orchestrator(PARTITION_ORCHESTRATOR, data, instance_id)

    def _partition_input(
        self,
        executor_id: str,
        items: list[tuple[Delivery, int]],
        dump: Callable[..., Any],
        max_parallel: int | None,
    ) -> dict[str, Any]:
        """A partition's ``PartitionInput``, built as plain JSON (the partition validates it): the run
        rebuilds every partition's input on every replay, where models cost several times the dicts."""
        listed = []
        for delivery, ordinal in items:
            item = delivery.item
            assert item is not None
            listed.append(
                {
                    "ordinal": ordinal,
                    "batch": item.batch,
                    "index": item.index,
                    "source": delivery.source,
                    "message": dump(delivery.message, mode="json"),
                }
            )
        return {
            "workflow": self.workflow.name,
            "version": self.started.version,
            "fingerprint": self.started.fingerprint,
            "traceparent": self.started.traceparent,
            "instance_id": self.state.instance_id,
            "superstep": self.state.superstep,
            "executor": executor_id,
            "max_parallel": max_parallel,
            "items": listed,
        }

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
        self._fail_if_failed(reply)
        by_ordinal = {steps[i].ordinal: i for i in part}
        node = self.workflow.nodes[steps[part[0]].executor_id]
        for raw in decoded(reply) or []:
            output = PartitionOutput.model_validate(raw)
            index = by_ordinal[output.ordinal]
            step = steps[index]
            value = (
                ItemFailed.model_validate(output.value)
                if output.failed
                else node.output_adapter.validate_python(output.value)
            )
            results[index] = Emission(step.executor_id, value, step.delivery.item)
            if not output.failed:
                self.executed.add(step.executor_id)
            outcome = (
                StepResult(ok=False, error=value.error)
                if isinstance(value, ItemFailed)
                else StepResult(ok=True, output=output.value)
            )
            self.attempts_taken.append(Attempt(step, output.attempt, *times, outcome, self.state.superstep))

    def _fail_if_failed(self, reply: Any) -> None:
        """A partition that failed fails the run, with the error of the item (or request) that failed it."""
        if isinstance(reply, Exception):
            text = str(reply)
            self._fail(partition_error(text) or RunError(type="PartitionFailed", message=text))

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
        if not self.timeouts and not self.subworkflows:  # the common case, built on every replay
            activity, request = self.activity, self._request
            return [context.call_activity(activity, request(steps[i], attempts[i])) for i in todo], timers
        calls: list[DurableTask] = []
        for position, index in enumerate(todo):
            step = steps[index]
            node = self.workflow.nodes[step.executor_id]
            if isinstance(node, SubWorkflow):
                calls.append(self._start_child(step, node))
                continue
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
        ).model_dump(mode="json")
        return self.context.call_sub_orchestrator(child.name, started, instance_id)

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
            message=node.input_adapter.dump_python(step.delivery.message, mode="json"),
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
                result = StepResult.model_validate(decoded(reply))
            except ValidationError as exc:
                self._fail(
                    RunError(
                        executor_id=step.executor_id,
                        type="StepFailed",
                        message=f"the step activity answered something that is not a step result: {exc}",
                    )
                )
        superstep = self.state.superstep
        got = result.step
        if got is not None and not got.is_step(step.executor_id, superstep, attempt, step.ordinal):
            self._fail(
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

    # --- approvals -----------------------------------------------------------------------------------

    def _ask_in_partitions(
        self, approvals: list[tuple[Delivery, int]], now: datetime
    ) -> list[tuple[Delivery, int]]:
        """Start the partitions of the maps of approvals with more items than their partition size (each
        a sub-orchestration that asks its items' people); the approvals left to ask here."""
        parts = self._partitions(delivery for delivery, _ in approvals)
        superstep = self.state.superstep
        numbers: Counter[str] = Counter()  # partitions are numbered per map
        for part in parts:
            asks = [approvals[i] for i in part]
            approval_id = asks[0][0].target
            number = numbers[approval_id]
            numbers[approval_id] += 1
            instance_id = partition_instance_id(self.state.instance_id, approval_id, superstep, number)
            dump = self.workflow.nodes[approval_id].input_adapter.dump_python
            data = self._partition_input(approval_id, asks, dump, None)
            data["requested_at"] = now.isoformat()
            data["strict_answers"] = self.strict_answers
            data["signed_answers"] = self.signed_answers
            data["run_nonce"] = self.started.run_nonce
            task = self.context.call_sub_orchestrator(PARTITION_ORCHESTRATOR, data, instance_id)
            ordinals = tuple(o for _, o in asks)
            tags = tuple(d.item for d, _ in asks if d.item is not None)
            asked = AskedPartition(instance_id, approval_id, superstep, ordinals, tags, now)
            self.asking[instance_id] = (asked, task)
            self.partitions[instance_id] = approval_id
        if not parts:
            return approvals
        partitioned = {i for part in parts for i in part}
        return [a for i, a in enumerate(approvals) if i not in partitioned]

    def _take_answers(self, asked: AskedPartition, reply: Any, now: datetime) -> list[Emission]:
        """A partition's approval outcomes (in its items' places) and how each request closed; a failed
        partition (a request passed its deadline under ``fail_run()``) fails the run with its error."""
        self._fail_if_failed(reply)
        node = self.workflow.nodes[asked.approval_id]
        items = dict(zip(asked.ordinals, asked.items, strict=True))
        emitted = []
        for raw in decoded(reply) or []:
            output = PartitionOutput.model_validate(raw)
            outcome = node.output_adapter.validate_python(output.value)
            emitted.append(Emission(node.id, outcome, items[output.ordinal]))
            if output.closed is not None:
                # Known to the run from now on: the feed gives it out at this time, not before; asked when
                # the run's clock says (the feed listed it at that time while the partition had it).
                closed = output.closed.model_copy(
                    update={"reported_at": now, "requested_at": asked.requested_at}
                )
                self.closed.append(closed)
        return emitted

    def _await_approvals(self) -> Generator[Any, Any, tuple[list[Emission], list[Delivery]]]:
        """Wait until one pending approval is answered (validly) or passes its deadline."""
        context, state, waits, workflow = self.context, self.state, self.waits, self.workflow
        for pending in state.approvals:
            if pending.request_id not in waits.events:
                waits.events[pending.request_id] = context.wait_for_external_event(pending.event_name)
            if pending.deadline is not None and pending.request_id not in waits.timers:
                waits.timers[pending.request_id] = context.create_timer(pending.deadline)
        contenders = [waits.events[p.request_id] for p in state.approvals]
        contenders += [waits.timers[p.request_id] for p in state.approvals if p.request_id in waits.timers]
        contenders += [task for _, task in self.asking.values()]
        winner = yield context.task_any(contenders)
        now = context.current_utc_datetime
        for instance_id, (asked, task) in list(self.asking.items()):
            if winner is task:
                del self.asking[instance_id]
                return self._take_answers(asked, task.result, now), []
        for pending in list(state.approvals):
            request_id = pending.request_id
            if winner is waits.events[request_id]:
                del waits.events[request_id]  # answered or dropped: a later answer needs a new wait
                answer = yield from self._read_answer(pending, winner.result)
                if answer is None:
                    return [], []  # an invalid answer is dropped; the approval waits on
                now = context.current_utc_datetime
                self._close(pending, now, outcome="answered", answer=answer)
                emission = answer_approval(
                    workflow, pending, answer.response, now=now, via=answer.via, decided_by=answer.decided_by
                )
                return [emission], []
            if winner is waits.timers.get(request_id):
                self._close(pending, now, outcome="timed_out", answer=None)
                expiry = expire_approval(workflow, pending, now=now)
                if expiry.error is not None:
                    self._fail(expiry.error)
                return ([expiry.emission] if expiry.emission else []), (
                    [expiry.escalation] if expiry.escalation else []
                )
        raise RuntimeError("task_any returned a task that is neither an approval event nor a deadline timer")

    def _read_answer(self, pending: PendingApproval, data: Any) -> Generator[Any, Any, _Answer | None]:
        """The answer an event carries, or None to drop it.

        An envelope (``$approval``) counts only once ``verify_answer`` has found its signature good; an
        unsigned or badly signed one is a raw event, whose body is then not a valid response. A raw event
        carries no identity, so an approval limited to named approvers ignores it. Runs started before
        answers were signed (``signed_answers`` unset) read envelopes as they always did.
        """
        data = decoded(data)
        answer = _Answer(data, None, "event")
        if isinstance(data, dict) and ENVELOPE in data:
            if self.signed_answers:
                sequence = self.answers_seen.get(pending.request_id, 0) + 1
                self.answers_seen[pending.request_id] = sequence
                request = VerifyRequest(
                    instance_id=self.state.instance_id,
                    request_id=pending.request_id,
                    run_nonce=self.started.run_nonce,
                    sequence=sequence,
                    envelope=data[ENVELOPE],
                )
                reply = yield self.context.call_activity(VERIFY_ACTIVITY, request.model_dump(mode="json"))
                verdict = Verdict.model_validate(decoded(reply))
                if verdict.valid:
                    envelope = AnswerEnvelope.model_validate(data[ENVELOPE])
                    answer = _Answer(
                        envelope.response, verdict.decided_by, verdict.via, verdict.answer_id, verdict.link
                    )
            else:
                try:
                    envelope = AnswerEnvelope.model_validate(data[ENVELOPE])
                except ValidationError:
                    return None
                answer = _Answer(envelope.response, envelope.decided_by, envelope.via)
        if answer.via == "event" and pending.approvers:
            return None
        try:
            response = validate_response(self.workflow, pending, answer.response, strict=self.strict_answers)
        except ValidationError:
            return None
        return dataclasses.replace(answer, response=response)

    def _close(self, pending: PendingApproval, now: Any, *, outcome: str, answer: _Answer | None) -> None:
        request_id = pending.request_id
        self._closed(pending, now, outcome=outcome, answer=answer)
        self.state.approvals = [a for a in self.state.approvals if a.request_id != request_id]
        self.waits.events.pop(request_id, None)
        timer = self.waits.timers.pop(request_id, None)
        if timer is not None and not timer.is_completed:
            timer.cancel()

    def _closed(
        self, pending: PendingApproval, now: Any, *, outcome: str, answer: _Answer | None
    ) -> ClosedApproval:
        """Record how a request closed (the caller stops waiting for it)."""
        request_id = pending.request_id
        node = self.workflow.nodes[pending.approval_id]
        assert isinstance(node, Approval)
        answer_json, answer_cut = ClosedApproval.kept(
            node.response_adapter.dump_python(answer.response, mode="json") if answer else None
        )
        self.closed.append(
            ClosedApproval(
                request_id=request_id,
                approval_id=pending.approval_id,
                outcome=outcome,  # type: ignore[arg-type]
                decided_by=answer.decided_by if answer else None,
                via=answer.via if answer else "timeout",
                at=now,
                requested_at=pending.requested_at,
                answer_id=answer.answer_id if answer else None,
                link=answer.link if answer else None,
                answer=answer_json,
                answer_cut=answer_cut,
                item=pending.item,
            )
        )
        return self.closed[-1]

    def _fail(self, error: RunError) -> Any:
        state = self.state
        state.status, state.error = "failed", error
        state.approvals = []
        self.running, self._round = [], ([], [], {})
        self._publish()
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
        context.continue_as_new(admitted(started, workflow, context).model_dump(mode="json"))
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
