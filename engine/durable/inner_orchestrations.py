"""A run's inner orchestrations: the map partitions and agent-step orchestrations it (or a partition of
it) started, which the engine runs for it and nobody else reads. They outlive the run in the task hub (a
purge of the run's instance does not touch them); purging the run through the workflow API purges them
too, so an agent's conversation is not left behind when its run is deleted.

They are found by their instance ids (derived from the run's: ``engine.durable.partition`` and
``engine.durable.loop_messages``) and recognised by their orchestrator's name and their input, which names
the run's instance and workflow. Sub-workflow runs are runs of their own and are not among them.
"""

from __future__ import annotations

from pydantic import ValidationError

from engine.core.jsontext import unwrapped
from engine.durable.client import InstanceStatus
from engine.durable.loop_messages import LOOP_ORCHESTRATOR, LoopInput
from engine.durable.partition import PARTITION_ORCHESTRATOR, PartitionInput

_INNER: dict[str, type[PartitionInput] | type[LoopInput]] = {
    PARTITION_ORCHESTRATOR: PartitionInput,
    LOOP_ORCHESTRATOR: LoopInput,
}


def inner_prefix(instance_id: str) -> str:
    """The prefix every inner orchestration of run ``instance_id`` has in its instance id."""
    return f"{instance_id}:"


def is_inner(status: InstanceStatus, instance_id: str, workflow: str) -> bool:
    """Whether ``status`` (listed with its input) is an inner orchestration of run ``instance_id`` of
    ``workflow``: a partition or agent-step orchestration under its prefix whose input names that run.
    An instance a caller started under such an id (ids may hold ``:``) with any other input is not."""
    model = _INNER.get(status.name)
    if model is None or not status.instance_id.startswith(inner_prefix(instance_id)):
        return False
    try:
        started = model.model_validate(unwrapped(status.input))
    except ValidationError:
        return False
    return started.instance_id == instance_id and started.workflow == workflow


__all__ = ["inner_prefix", "is_inner"]
