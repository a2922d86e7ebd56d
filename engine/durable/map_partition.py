"""The orchestration of one map partition (``engine.durable.partition``): its items, run or asked as the
parent run would, under the parent's instance id and superstep.

Steps run through the parent's own superstep code (``Orchestration.run_superstep``); approvals open
with the parent's request ids and are taken through the same ``ApprovalDesk`` as a run's
(``take_partition_answers``), so answers, deadlines and signed envelopes behave as they do in a run.
``MapPartition`` keeps that ``Orchestration`` on itself, so the history fold reads a partition's open
requests the way it reads a run's.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from engine.core.approval import Approval
from engine.core.graph import Workflow
from engine.core.jsontext import decoded
from engine.core.mapping import ItemFailed, ItemTag
from engine.core.routing import Delivery, Emission
from engine.core.run_state import RunError, RunState
from engine.core.supersteps import Step
from engine.core.versions import VersionNotAvailable, WorkflowVersions
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.context import OrchestrationContext
from engine.durable.orchestrator import STEP_ACTIVITY, Orchestration, WorkflowFailed
from engine.durable.partition import (
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
        self.orchestration = run = Orchestration(
            workflow, context, activity=activity, started=started, partitioning=False
        )
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
        emissions = yield from run.run_superstep(steps)
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
        """Every item's request, asked as the parent would have (its request ids, at its time), and its
        outcome once answered or past the deadline (``ApprovalDesk.take_partition_answers``)."""
        run = self.orchestration
        requested_at = self.data.requested_at or run.context.current_utc_datetime
        return (yield from run.approvals.take_partition_answers(self.deliveries, requested_at, run.publish))


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
