"""Partitioned maps: a map's items, above its partition size, run in sub-orchestrations of at most that
many, so no orchestration history grows past a bounded size however many items there are.

A partition runs its items exactly as the parent would (``Orchestration._run_superstep``: the same step
requests, retries, timeouts and ``max_parallel``), under the parent's instance id and superstep, so every
item keeps its step identity and idempotency key. It returns the items' outputs; an item that fails for
good (without ``on_item_error="collect"``) fails the partition, naming the item's error, so a rewind of
the parent rewinds the partition and runs that item again.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from engine.core.jsontext import after_mark
from engine.core.run_state import RunError

PARTITION_ORCHESTRATOR = "workflow_map_partition"
_FAILED = "[workflow map partition failed] "


class PartitionItem(BaseModel):
    ordinal: int  # the item step's ordinal in the parent's superstep
    batch: str
    index: int
    source: str
    message: Any


class PartitionInput(BaseModel):
    workflow: str
    version: str | None
    fingerprint: str | None
    traceparent: str | None = None  # the run's: the items' steps join its trace
    instance_id: str  # the parent run's: step requests and idempotency keys are the parent's
    superstep: int
    executor: str
    max_parallel: int | None = None
    items: list[PartitionItem]


class PartitionOutput(BaseModel):
    ordinal: int
    value: Any  # the item node's output (JSON), or an ItemFailed (JSON) when ``failed``
    failed: bool = False
    attempt: int = 1  # its last attempt


class PartitionFailed(Exception):
    """An item failed for good: the partition fails with the item's error in its message."""

    def __init__(self, error: RunError) -> None:
        self.error = error
        super().__init__(_FAILED + error.model_dump_json())


def partition_error(text: str) -> RunError | None:
    """The item error a failed partition carried, found in the failure's text."""
    value = after_mark(text, _FAILED)
    if value is None:
        return None
    try:
        return RunError.model_validate(value)
    except ValidationError:
        return None


def partition_instance_id(parent: str, executor: str, superstep: int, number: int) -> str:
    return f"{parent}:{executor}:{superstep}:p{number}"


__all__ = [
    "PARTITION_ORCHESTRATOR",
    "PartitionFailed",
    "PartitionInput",
    "PartitionItem",
    "PartitionOutput",
    "partition_error",
    "partition_instance_id",
]
