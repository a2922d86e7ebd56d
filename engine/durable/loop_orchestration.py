"""A looping step (an agent) as an orchestration of its own: ``engine.core.step_loop.drive``, with each
call an activity, each pause a durable timer and each question to people an approval.

The run starts it as a sub-orchestration (like a map partition) for one attempt of one step, under an
instance id derived from the run, the step and the attempt (``loop_instance_id``), and takes what it
returns as the step's result: a ``StepResult`` carrying the step's identity, so the run reads it exactly
as it reads the step activity's. Its history holds the step's calls (``CALL_ACTIVITY``), so a replay feeds
their recorded outcomes back to the machine and calls nothing again: a crash after a tool call never
repeats it, and the model is never asked twice for one turn. A call that failed for good fails this
orchestration with the step's result in its message (``StepFailedForGood``), which fails the step for
good (its calls were retried already; a rewind of the run runs the failed call again).

Questions to people are the run's approvals, asked here: the run's request ids (``step_request_id``),
signed answers bound to the run (its instance id and nonce), deadlines, escalation, all through the same
``ApprovalDesk`` as a run's. The run's view lists them from this orchestration's history
(``engine.functions.loop_reads``) and the run's approval route raises answers here. Everything here runs
inside an orchestrator: deterministic, time from the context.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from typing import Any, NoReturn

from engine.core.approval import ApprovalOutcome
from engine.core.approval_requests import open_step_approval
from engine.core.graph import Workflow
from engine.core.jsontext import decoded
from engine.core.loop_calls import AskDecision, CallOutcome, LoopCall
from engine.core.routing import Emission
from engine.core.run_state import RunError, RunState
from engine.core.step_loop import Asks, Calls, LoopEnd, LoopExecutor, Pause, drive
from engine.core.versions import VersionNotAvailable, WorkflowVersions
from engine.durable.approval_desk import ApprovalDesk
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.context import DurableTask, OrchestrationContext
from engine.durable.loop_messages import CALL_ACTIVITY, CallRequest, LoopInput, call_failure_in
from engine.durable.partition_starts import PartitionStarts
from engine.durable.status import build_status
from engine.durable.step_messages import StepFailedForGood, StepIdentity, StepResult
from engine.telemetry.steps import finished_step


class LoopFailed(Exception):
    """Raised inside the orchestration when the step cannot even start (its graph is not served)."""


class LoopRun:
    """One attempt of one looping step. ``run()`` is the orchestrator body; the attributes its state."""

    def __init__(self, workflow: Workflow, data: LoopInput, context: OrchestrationContext) -> None:
        self.workflow = workflow
        self.data = data
        self.context = context
        node = workflow.nodes.get(data.executor)
        if not isinstance(node, LoopExecutor):
            raise LoopFailed(f"no looping step {data.executor!r} in workflow {workflow.name!r}")
        self.node = node
        # The run's identity: its requests, signed answers and their verification are the run's.
        self.state = RunState(workflow=workflow.name, instance_id=data.instance_id, superstep=data.superstep)
        started = OrchestratorInput(
            checkpoint=self.state,
            version=data.version,
            fingerprint=data.fingerprint,
            traceparent=data.traceparent,
            strict_answers=data.strict_answers,
            signed_answers=data.signed_answers,
            run_nonce=data.run_nonce,
        )
        starts = PartitionStarts(workflow, context, started, self.state, enabled=False)
        self.approvals = ApprovalDesk(workflow, context, self.state, started, starts, self._fail)
        self.running = 0  # calls in flight (for the status)
        self.end: LoopEnd | None = None

    def run(self) -> Generator[Any, Any, dict[str, Any]]:
        """The step's result (a ``StepResult`` as JSON); raises ``StepFailedForGood`` when it failed."""
        data, node = self.data, self.node
        began = self.context.current_utc_datetime
        driver = drive(node, node.loop_start(data.message, data.idempotency_key))
        effect = next(driver)
        try:
            while True:
                if isinstance(effect, Calls):
                    effect = driver.send((yield from self._calls(effect)))
                elif isinstance(effect, Pause):
                    context = self.context
                    yield context.create_timer(context.current_utc_datetime + effect.delay)
                    effect = driver.send(None)
                else:
                    effect = driver.send((yield from self._asks(effect)))
        except StopIteration as stopped:
            self.end = end = stopped.value
        identity = StepIdentity(
            executor=node.id, superstep=data.superstep, attempt=data.attempt, ordinal=data.ordinal
        )
        if not self.context.is_replaying:  # reported once, when the step ends (not on later replays)
            self._report(began, end)
        if not end.ok:
            self.state.status, self.state.error = "failed", end.error
            self._publish()
            raise StepFailedForGood(
                StepResult(ok=False, step=identity, error=end.error, annotations=end.annotations)
            )
        output = node.output_adapter.validate_python(end.output)
        self.state.status = "completed"
        self._publish()
        dumped = node.output_adapter.dump_python(output, mode="json")
        return StepResult(ok=True, step=identity, output=dumped, annotations=end.annotations).model_dump(
            mode="json"
        )

    # --- calls -----------------------------------------------------------------------------------------

    def _calls(self, effect: Calls) -> Generator[Any, Any, list[CallOutcome]]:
        """Each call an activity, all at once; their outcomes in order (a failed activity: the outcome
        its failure carries, which no attempt follows)."""
        data, context = self.data, self.context
        tasks: list[DurableTask] = [
            context.call_activity(
                CALL_ACTIVITY,
                CallRequest(
                    workflow=data.workflow,
                    version=data.version,
                    executor=data.executor,
                    instance_id=data.instance_id,
                    superstep=data.superstep,
                    ordinal=data.ordinal,
                    idempotency_key=data.idempotency_key,
                    call=call,
                    attempt=attempt,
                    traceparent=data.traceparent,
                    run_nonce=data.run_nonce,
                ).model_dump(mode="json"),
            )
            for call, attempt in effect.calls
        ]
        self.running = len(tasks)
        replies = yield from self._replies(tasks)
        self.running = 0
        return [
            self._outcome(reply, call, attempt)
            for reply, (call, attempt) in zip(replies, effect.calls, strict=True)
        ]

    def _replies(self, tasks: list[DurableTask]) -> Generator[Any, Any, list[Any]]:
        """Each task's reply, or the exception it failed with, in order (every task awaited, so a rewind
        finds each one's result in the history)."""
        try:
            return [(yield tasks[0])] if len(tasks) == 1 else list((yield self.context.task_all(tasks)))
        except Exception as exc:
            if len(tasks) == 1:
                return [exc]
        replies: list[Any] = []
        for task in tasks:
            try:
                replies.append((yield task))
            except Exception as exc:
                replies.append(exc)
        return replies

    @staticmethod
    def _outcome(reply: Any, call: LoopCall, attempt: int) -> CallOutcome:
        if isinstance(reply, Exception):
            found = call_failure_in(str(reply))
            if found is not None:
                return found.model_copy(update={"retryable": False})
            # The SDK joins the host's reason and details (the traceback): the reason.
            error = RunError(type="CallActivityFailed", message=str(reply).split(" \n ", 1)[0])
            return CallOutcome(
                key=call.key, kind=call.kind, name=call.name, attempt=attempt, ok=False, error=error
            )
        return CallOutcome.model_validate(decoded(reply))

    # --- people ----------------------------------------------------------------------------------------

    def _asks(self, effect: Asks) -> Generator[Any, Any, list[AskDecision]]:
        """Open the questions as the run's requests and wait until each is decided (an answer, or its
        deadline: a default, or a question to whom it escalates)."""
        asking = self.approvals
        keys: dict[str, str] = {}  # request id -> the call key it asks about
        for ask in effect.asks:
            self._open(ask.approval_id, ask.request, ask.key, keys, None)
        decided: dict[str, AskDecision] = {}
        while len(decided) < len(effect.asks):
            if not self.context.is_replaying:
                self._publish()
            before = {p.request_id for p in self.state.approvals}
            emitted, escalations = yield from asking.decide()
            for emission in emitted:
                decision = self._decision(emission, keys)
                decided[decision.key] = decision
            gone = before - {p.request_id for p in self.state.approvals}
            for escalation in escalations:
                key = next(keys[r] for r in sorted(gone) if keys[r] not in decided)
                request = self.workflow.approval(escalation.target).input_adapter.dump_python(
                    escalation.message, mode="json"
                )
                self._open(escalation.target, request, key, keys, escalation.source)
        if not self.context.is_replaying:
            self._publish()
        return [decided[ask.key] for ask in effect.asks]

    def _open(
        self, approval_id: str, request: Any, key: str, keys: dict[str, str], escalated: str | None
    ) -> None:
        data = self.data
        pending = open_step_approval(
            self.workflow,
            approval_id,
            request,
            superstep=data.superstep,
            ordinal=data.ordinal,
            call_key=key,
            now=self.context.current_utc_datetime,
            item=data.item,
            escalated_from=escalated,
        )
        keys[pending.request_id] = key
        self.state.approvals.append(pending)

    def _decision(self, emission: Emission, keys: dict[str, str]) -> AskDecision:
        outcome = emission.message
        assert isinstance(outcome, ApprovalOutcome)
        approval = self.workflow.approval(outcome.approval_id)
        return AskDecision(
            key=keys[outcome.request_id],
            response=approval.response_adapter.dump_python(outcome.response, mode="json"),
            decided_by=outcome.decided_by,
            via=outcome.via,
            timed_out=outcome.timed_out,
        )

    def _report(self, began: datetime, end: LoopEnd) -> None:
        data = self.data
        finished_step(
            workflow=data.workflow,
            instance_id=data.instance_id,
            executor=data.executor,
            superstep=data.superstep,
            item=data.ordinal,
            attempt=data.attempt,
            started=began,
            ended=self.context.current_utc_datetime,
            error_type=end.error.type if end.error is not None else None,
            idempotency_key=data.idempotency_key,
            version=data.version,
            traceparent=data.traceparent,
        )

    def _publish(self) -> None:
        """The small status: the questions open (the run's view reads those of the loops that have some)."""
        self.context.set_custom_status(build_status(self.state, running=self.running, executed=0))

    def _fail(self, error: RunError) -> NoReturn:
        """A question's deadline passed under ``fail_run()``: the step (and so the run) fails."""
        data = self.data
        identity = StepIdentity(
            executor=data.executor, superstep=data.superstep, attempt=data.attempt, ordinal=data.ordinal
        )
        self.state.status, self.state.error, self.state.approvals = "failed", error, []
        self._publish()
        raise StepFailedForGood(StepResult(ok=False, step=identity, error=error))


def loop_workflow(workflows: WorkflowVersions, context: OrchestrationContext) -> tuple[Workflow, LoopInput]:
    """A loop's input, and the graph its run started on; raises ``VersionNotAvailable``."""
    data = LoopInput.model_validate(decoded(context.get_input()))
    return workflows.for_run(data.workflow, data.version, data.fingerprint), data


def orchestrate_loop(
    workflows: WorkflowVersions, context: OrchestrationContext
) -> Generator[Any, Any, dict[str, Any]]:
    """The orchestrator body of one looping step's attempt; returns its ``StepResult`` (JSON)."""
    try:
        workflow, data = loop_workflow(workflows, context)
    except VersionNotAvailable as exc:
        raise StepFailedForGood(
            StepResult(ok=False, error=RunError(type="VersionNotAvailable", message=str(exc)))
        ) from None
    return (yield from LoopRun(workflow, data, context).run())


__all__ = ["LoopRun", "loop_workflow", "orchestrate_loop"]
