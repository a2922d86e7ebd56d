"""The map partitions one execution starts: which items go together, each partition's input, its start.

A map's items (steps, or approvals asked per item) above its partition size run in sub-orchestrations
of at most that many (``engine.durable.partition``). Steps and approvals are grouped and started here
alike, and every partition started is recorded (instance id -> the map's node), which the run's views
read through its snapshot. Inside a partition nothing is partitioned again (``enabled`` is false).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from engine.core.graph import Workflow
from engine.core.routing import Delivery
from engine.core.run_state import RunState
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.context import DurableTask, OrchestrationContext
from engine.durable.partition import PARTITION_ORCHESTRATOR, partition_instance_id


class PartitionStarts:
    """Grouping a superstep's map items into partitions, and starting them, for one execution."""

    def __init__(
        self,
        workflow: Workflow,
        context: OrchestrationContext,
        started: OrchestratorInput,
        state: RunState,
        *,
        enabled: bool = True,
    ) -> None:
        self.workflow = workflow
        self.context = context
        self.started = started
        self.state = state
        self.enabled = enabled
        self.started_ids: dict[str, str] = {}  # every partition started: instance id -> the map's node

    def group(self, deliveries: Iterable[Delivery]) -> list[list[int]]:
        """The positions of the item deliveries (steps or approvals) of maps with more items than their
        partition size, in partitions of that size (in order); none inside a partition itself."""
        if not self.enabled:
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

    def input(
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

    def start(self, executor_id: str, number: int, data: dict[str, Any]) -> tuple[str, DurableTask]:
        """Start partition ``number`` of map node ``executor_id`` in this superstep: its id and task."""
        instance_id = partition_instance_id(self.state.instance_id, executor_id, self.state.superstep, number)
        self.started_ids[instance_id] = executor_id
        return instance_id, self.context.call_sub_orchestrator(PARTITION_ORCHESTRATOR, data, instance_id)


__all__ = ["PartitionStarts"]
