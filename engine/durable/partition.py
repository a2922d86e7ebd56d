"""Partitioned maps: a map's items, above its partition size, run in sub-orchestrations of at most that
many, so no orchestration history grows past a bounded size however many items there are.

A partition runs its items exactly as the parent would (``Orchestration.run_superstep``: the same step
requests, retries, timeouts and ``max_parallel``), under the parent's instance id and superstep, so every
item keeps its step identity and idempotency key. It returns the items' outputs; an item that fails for
good (without ``on_item_error="collect"``) fails the partition, naming the item's error, so a rewind of
the parent rewinds the partition and runs that item again.

A map whose per-item node is an approval asks its items' people in partitions too: the partition opens
the requests (the parent's request ids, asked at the parent's time), waits for each answer or deadline,
and returns each item's outcome with how its request closed. The answers reach it through the parent's
approval route, which finds the partition from the request id (``AskedPartition.holds``) and raises
them as ``ANSWERS_EVENT`` with the request id (``PartitionAnswer``).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.core.approval import request_id_for
from engine.core.jsontext import after_mark
from engine.core.mapping import ItemTag
from engine.core.run_state import ClosedApproval, RunError

PARTITION_ORCHESTRATOR = "workflow_map_partition"
# A partition waits for all its requests' answers on one event name, each answer naming its request: one
# wait per answer instead of a race over every open request, which would cost each replay O(requests²).
ANSWERS_EVENT = "approval-answers"
_FAILED = "[workflow map partition failed] "
_ORDINAL = re.compile(r"[0-9]{1,9}")


class PartitionItem(BaseModel):
    """One map item a partition runs: its step ordinal in the parent's superstep, its tag, and its message."""

    ordinal: int  # the item step's ordinal in the parent's superstep
    batch: str
    index: int
    source: str
    message: Any


class PartitionInput(BaseModel):
    """A partition's input: the parent run's graph, instance id and superstep, and the items it runs."""

    workflow: str
    version: str | None
    fingerprint: str | None
    traceparent: str | None = None  # the run's: the items' steps join its trace
    instance_id: str  # the parent run's: step requests and idempotency keys are the parent's
    superstep: int
    executor: str
    max_parallel: int | None = None
    items: list[PartitionItem]
    # For a map of approvals: when the parent asked (each request's requested_at, and its deadline's start),
    # and how the parent reads answers (a partition reads them exactly so).
    requested_at: datetime | None = None
    strict_answers: bool = True
    signed_answers: bool = True
    run_nonce: str | None = None  # the run's: answers raised here are signed for the run


class PartitionOutput(BaseModel):
    """One item's outcome, as the partition returns it to the parent run."""

    ordinal: int
    value: Any  # the item node's output (JSON), or an ItemFailed (JSON) when ``failed``
    failed: bool = False
    attempt: int = 1  # its last attempt
    closed: ClosedApproval | None = None  # for an approval item: how its request closed


class PartitionAnswer(BaseModel):
    """The body of an ``ANSWERS_EVENT``: which request it answers, and the answer as a run's approval
    event would carry it (a signed envelope, or for an approval without approvers a bare response)."""

    request_id: str
    answer: Any = None


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


def partition_failure(reply: Any) -> RunError | None:
    """The error a failed partition fails its run with: the item's (or request's) that failed it; None
    when ``reply`` is no failure. The SDK joins the host's reason and details (a traceback): the reason."""
    if not isinstance(reply, Exception):
        return None
    text = str(reply)
    return partition_error(text) or RunError(type="PartitionFailed", message=text.split(" \n ", 1)[0])


@dataclass(frozen=True, slots=True)
class AskedPartition:
    """A partition of a map's approvals, as the parent run knows it: which requests it holds."""

    instance_id: str
    approval_id: str
    superstep: int
    ordinals: tuple[int, ...]  # in ascending order
    items: tuple[ItemTag, ...]  # each ordinal's map item
    requested_at: datetime

    def request_ids(self) -> list[str]:
        """The request ids of the approvals this partition asked."""
        return [request_id_for(self.approval_id, self.superstep, o) for o in self.ordinals]

    def holds(self, request_id: str) -> bool:
        """Whether ``request_id`` is one of the requests this partition asked."""
        prefix = f"{self.approval_id}-s{self.superstep}-"
        tail = request_id[len(prefix) :]
        # ASCII digits only, and few: str.isdigit() admits "²" and "٣", which int() refuses, and int()
        # refuses more than 4,300 digits. No superstep asks a billion requests.
        if not request_id.startswith(prefix) or _ORDINAL.fullmatch(tail) is None:
            return False
        ordinal = int(tail)
        at = bisect_left(self.ordinals, ordinal)
        return at < len(self.ordinals) and self.ordinals[at] == ordinal


def partition_instance_id(parent: str, executor: str, superstep: int, number: int) -> str:
    """The instance id of a map's partition: the parent's, the executor, the superstep and its number."""
    return f"{parent}:{executor}:{superstep}:p{number}"


__all__ = [
    "ANSWERS_EVENT",
    "PARTITION_ORCHESTRATOR",
    "AskedPartition",
    "PartitionAnswer",
    "PartitionFailed",
    "PartitionInput",
    "PartitionItem",
    "PartitionOutput",
    "partition_error",
    "partition_failure",
    "partition_instance_id",
]
