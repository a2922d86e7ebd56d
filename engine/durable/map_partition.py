"""The orchestration of one map partition (``engine.durable.partition``): its items, run or asked as the
parent run would, under the parent's instance id and superstep.

Steps run through the parent's own superstep code (``Orchestration._run_superstep``); approvals open
with the parent's request ids and wait through ``Orchestration._await_approvals``, so answers, deadlines
and signed envelopes behave as they do in a run. ``MapPartition`` keeps that ``Orchestration`` on itself,
so the history fold reads a partition's open requests the way it reads a run's.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from pydantic import ValidationError

from engine.core.approval import Approval
from engine.core.approval_requests import answer_approval, expire_approval, open_approval
from engine.core.graph import Workflow
from engine.core.jsontext import decoded
from engine.core.mapping import ItemFailed, ItemTag
from engine.core.routing import Delivery, Emission
from engine.core.run_state import ClosedApproval, PendingApproval, RunError, RunState
from engine.core.supersteps import Step
from engine.core.versions import VersionNotAvailable, WorkflowVersions
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.context import OrchestrationContext
from engine.durable.orchestrator import STEP_ACTIVITY, Orchestration, WorkflowFailed
from engine.durable.partition import (
    ANSWERS_EVENT,
    PartitionAnswer,
    PartitionFailed,
    PartitionInput,
    PartitionOutput,
)


class MapPartition:
    """One partition. ``run()`` is the orchestrator body; ``orchestration`` holds its state."""

    def __init__(
        self,
        workflow: Workflow,
        data: PartitionInput,
        context: OrchestrationContext,
        *,
        activity: str = STEP_ACTIVITY,
    ) -> None:
        """``workflow``: the graph the partition's run started on (``partition_workflow``)."""
        self.data = data
        self.workflow = workflow
        state = RunState(workflow=workflow.name, instance_id=data.instance_id, superstep=data.superstep)
        started = OrchestratorInput(
            checkpoint=state,
            version=data.version,
            fingerprint=data.fingerprint,
            traceparent=data.traceparent,
            strict_answers=data.strict_answers,
            signed_answers=data.signed_answers,
            run_nonce=data.run_nonce,
        )
        self.orchestration = run = Orchestration(workflow, context, activity=activity, started=started)
        run.partitioning = False
        run.limits = {data.executor: data.max_parallel} if data.max_parallel is not None else {}
        self.node = node = workflow.nodes[data.executor]
        self.deliveries = [
            (
                Delivery(
                    data.executor,
                    node.input_adapter.validate_python(i.message),
                    i.source,
                    ItemTag(i.batch, i.index),
                ),
                i.ordinal,
            )
            for i in data.items
        ]

    def run(self) -> Generator[Any, Any, list[Any]]:
        """The items' outputs (JSON), each with its step's ordinal."""
        try:
            if isinstance(self.node, Approval):
                outputs = yield from self._ask()
            else:
                outputs = yield from self._steps()
        except WorkflowFailed as failed:
            raise PartitionFailed(failed.error) from None
        return [o.model_dump(mode="json") for o in outputs]

    def _steps(self) -> Generator[Any, Any, list[PartitionOutput]]:
        run, node = self.orchestration, self.node
        steps = [Step(delivery, ordinal) for delivery, ordinal in self.deliveries]
        emissions = yield from run._run_superstep(steps)
        ordinals = {(d.item.batch, d.item.index): o for d, o in self.deliveries if d.item is not None}
        last_attempt = {taken.step.ordinal: taken.attempt for taken in run.attempts_taken}
        outputs = []
        for emission in emissions:
            ordinal = ordinals[_item_of(emission)]
            failed = isinstance(emission.message, ItemFailed)
            value = (
                emission.message.model_dump(mode="json")
                if failed
                else node.output_adapter.dump_python(emission.message, mode="json")
            )
            outputs.append(
                PartitionOutput(
                    ordinal=ordinal, value=value, failed=failed, attempt=last_attempt.get(ordinal, 1)
                )
            )
        return outputs

    def _ask(self) -> Generator[Any, Any, list[PartitionOutput]]:
        """Open every item's request as the parent would have, then take answers until each request is
        answered or the deadline (one for all: they were asked at once) has passed. Answers come one
        ``ANSWERS_EVENT`` each; one that names no open request, or that the approval refuses, is dropped."""
        run, data, workflow, context = (
            self.orchestration,
            self.data,
            self.workflow,
            self.orchestration.context,
        )
        asked_at = data.requested_at or context.current_utc_datetime
        open_: dict[str, PendingApproval] = {}
        places: dict[str, int] = {}
        for delivery, ordinal in self.deliveries:
            pending = open_approval(
                workflow, delivery, superstep=data.superstep, ordinal=ordinal, now=asked_at
            )
            pending.event_name = ANSWERS_EVENT
            open_[pending.request_id] = pending
            places[pending.request_id] = ordinal
        run.state.approvals = list(open_.values())
        deadline = run.state.approvals[0].deadline if run.state.approvals else None
        timer = context.create_timer(deadline) if deadline is not None else None
        outputs: list[PartitionOutput] = []

        def close(pending: PendingApproval, emission: Emission, closed: ClosedApproval) -> None:
            outcome = self.node.output_adapter.dump_python(emission.message, mode="json")
            outputs.append(PartitionOutput(ordinal=places[pending.request_id], value=outcome, closed=closed))
            del open_[pending.request_id]

        while open_:
            if not context.is_replaying:
                run._publish()
            event = context.wait_for_external_event(ANSWERS_EVENT)
            if timer is None:
                raw = yield event
            else:
                winner = yield context.task_any([event, timer])
                if winner is timer:
                    now = context.current_utc_datetime
                    for pending in list(open_.values()):
                        closed = run._closed(pending, now, outcome="timed_out", answer=None)
                        expiry = expire_approval(workflow, pending, now=now)
                        if expiry.error is not None:
                            run._fail(expiry.error)
                        assert expiry.emission is not None  # escalation is refused for map approvals
                        close(pending, expiry.emission, closed)
                    break
                raw = event.result
            try:
                message = PartitionAnswer.model_validate(decoded(raw))
            except ValidationError:
                continue
            pending = open_.get(message.request_id)
            if pending is None:
                continue
            answer = yield from run._read_answer(pending, message.answer)
            if answer is None:
                continue
            now = context.current_utc_datetime
            closed = run._closed(pending, now, outcome="answered", answer=answer)
            emission = answer_approval(
                workflow, pending, answer.response, now=now, via=answer.via, decided_by=answer.decided_by
            )
            close(pending, emission, closed)
            run.state.approvals = list(open_.values())
        run.state.approvals = []
        if timer is not None and not timer.is_completed:
            timer.cancel()
        outputs.sort(key=lambda o: o.ordinal)
        return outputs


def _item_of(emission: Emission) -> tuple[str, int]:
    item = emission.item
    assert item is not None
    return item.batch, item.index


def partition_workflow(
    workflows: WorkflowVersions, context: OrchestrationContext
) -> tuple[Workflow, PartitionInput]:
    """A partition's input, and the graph its run started on; raises ``VersionNotAvailable``."""
    data = PartitionInput.model_validate(decoded(context.get_input()))
    return workflows.for_run(data.workflow, data.version, data.fingerprint), data


def orchestrate_partition(
    workflows: WorkflowVersions, context: OrchestrationContext, *, activity: str = STEP_ACTIVITY
) -> Generator[Any, Any, list[Any]]:
    """The orchestrator body of one partition of a map; returns its items' outputs (JSON)."""
    try:
        workflow, data = partition_workflow(workflows, context)
    except VersionNotAvailable as exc:
        raise PartitionFailed(RunError(type="VersionNotAvailable", message=str(exc))) from None
    return (yield from MapPartition(workflow, data, context, activity=activity).run())


__all__ = ["MapPartition", "orchestrate_partition", "partition_workflow"]
