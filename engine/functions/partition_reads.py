"""What a run's map partitions of approvals hold, read for the run's view and its approval route.

A partition (``engine.durable.map_partition``) owns the requests it asks until it reports them to the
run: which are still open, which closed and how. So the run's view lists them from the partition's own
history, folded as a run's is; the run's fold only says which partitions are out and which request ids
each holds. A partition's small status (``RunStatus``, its open-request count) serves for paging
alone: a page folds only the partitions it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.core.approval import Approval
from engine.core.graph import Map, Workflow
from engine.core.run_state import PendingApproval
from engine.core.versions import VersionNotAvailable, WorkflowVersions
from engine.durable.client import DurableClient
from engine.durable.fold import fold_partition
from engine.durable.history import HistoryEvent
from engine.durable.partition import AskedPartition
from engine.durable.phase import FINISHED
from engine.durable.run_snapshot import RunSnapshot
from engine.durable.status import RunStatus
from engine.functions.child_reads import ChildRead, FinishedReads
from engine.functions.map_progress import step_items
from engine.functions.timeline import run_timeline
from engine.functions.timeline_model import StepEntry

# A timeline lists the steps of the first partitions only: each costs a read of its history, and a map
# of 100,000 items would list as many rows (the map's progress counts them all).
MAX_PARTITION_ROWS = 2_000

# A partition as one read found it: its runtime status, its history and its fold.
PartitionFold = tuple[str | None, list[HistoryEvent], RunSnapshot | None]
FinishedFolds = FinishedReads[PartitionFold]


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionRead(ChildRead):
    """A partition of asked approvals: what the run knows of it, and its own history folded."""

    asked: AskedPartition


class PartitionReader:
    """Reads the partitions of approvals a run has out (``Orchestration.asking``)."""

    def __init__(self, versions: WorkflowVersions, activity: str) -> None:
        self.versions = versions
        self.activity = activity

    @staticmethod
    def out(run: RunSnapshot | None) -> list[AskedPartition]:
        """The partitions of approvals the run waits for, in the order it asked them."""
        return list(run.asking) if run is not None else []

    async def read(self, client: DurableClient, asked: AskedPartition) -> PartitionRead:
        runtime, _, snapshot = await self._folded(client, asked.instance_id)
        return PartitionRead(asked=asked, runtime=runtime, snapshot=snapshot)

    async def _folded(
        self, client: DurableClient, instance_id: str, finished: FinishedFolds | None = None
    ) -> PartitionFold:
        """A partition's runtime status, history (with outputs) and fold (None before it has started, or
        when its graph is not served: the run itself says why, as its version problem); a partition
        ``finished`` holds is not read again."""
        kept = finished.get(instance_id) if finished is not None else None
        if kept is not None:
            return kept
        read = await client.history(instance_id)
        runtime = read.status.runtime if read is not None else None
        events = read.events if read is not None else []
        if runtime is None or not events:
            return runtime, events, None
        try:
            fold = fold_partition(self.versions, instance_id, events, activity=self.activity)
        except VersionNotAvailable:
            return runtime, events, None
        found: PartitionFold = (runtime, events, fold)
        return finished.keep(instance_id, runtime, found) if finished is not None else found

    async def step_folds(
        self,
        client: DurableClient,
        run: RunSnapshot | None,
        nodes: frozenset[str],
        *,
        unfinished: bool,
        finished: FinishedFolds | None = None,
    ) -> list[RunSnapshot]:
        """The folds of the run's partitions that ran a node of ``nodes`` (only the unfinished ones when
        ``unfinished``): where the agent steps of a partitioned map started their orchestrations."""
        if run is None or not nodes:
            return []
        folds = []
        for instance_id, node in run.partitions.items():
            if node in nodes:
                runtime, _, part = await self._folded(client, instance_id, finished)
                if part is not None and not (unfinished and runtime in FINISHED):
                    folds.append(part)
        return folds

    async def step_rows(self, client: DurableClient, run: RunSnapshot | None) -> tuple[list[StepEntry], int]:
        """The timeline rows of the steps the run's map partitions ran in this execution, each read from
        its partition's history (with the item it worked on, its input and output), partitions in the
        order started until ``MAX_PARTITION_ROWS`` rows; and how many partitions were left unread."""
        if run is None:
            return [], 0
        nodes = run.workflow.nodes
        ran = [i for i, node in run.partitions.items() if not isinstance(nodes[node], Approval)]
        rows: list[StepEntry] = []
        for read, instance_id in enumerate(ran):
            if len(rows) >= MAX_PARTITION_ROWS:
                return rows, len(ran) - read
            _, events, part = await self._folded(client, instance_id)
            if part is None:
                continue
            timeline = run_timeline(events, self.activity, requests=part.requests, items=step_items(part))
            rows += [
                e.model_copy(update={"partition": instance_id})
                for e in timeline.entries
                if isinstance(e, StepEntry)
            ]
        return rows, 0

    async def open_counts(
        self, client: DurableClient, run: RunSnapshot | None
    ) -> list[tuple[AskedPartition, int]]:
        """Each partition out, and how many of its requests are open as its status counts them."""
        counts = []
        for asked in self.out(run):
            status = await client.status(asked.instance_id)
            summary = RunStatus.read(status.custom_status) if status is not None else None
            runtime = status.runtime if status is not None else None
            if runtime in FINISHED:
                count = 0  # done: the run takes its answers in next
            elif summary is None:
                count = len(asked.ordinals)  # not started yet: every request is still to be asked
            else:
                count = summary.approvals_count
            counts.append((asked, count))
        return counts

    async def all_asking(self, client: DurableClient, run: RunSnapshot | None) -> bool:
        """Whether every partition out has asked its requests (so a view lists each of them)."""
        for asked in self.out(run):
            status = await client.status(asked.instance_id)
            if status is None or RunStatus.read(status.custom_status) is None:
                return status is not None and status.finished
        return True

    async def page(
        self, client: DurableClient, run: RunSnapshot | None, skip: int, top: int
    ) -> tuple[list[tuple[AskedPartition, PendingApproval]], int]:
        """The open requests of the run's partitions from ``skip`` on (at most ``top``), each read from
        its partition's history, and how many are open in all."""
        counts = await self.open_counts(client, run)
        listed: list[tuple[AskedPartition, PendingApproval]] = []
        offset = 0
        for asked, count in counts:
            if len(listed) < top and count and offset + count > skip:
                pending = (await self.read(client, asked)).pending
                start = max(0, skip - offset)
                listed += [(asked, p) for p in pending[start : start + top - len(listed)]]
            offset += count
        return listed, offset

    async def holding(
        self, client: DurableClient, run: RunSnapshot | None, request_id: str
    ) -> PartitionRead | None:
        """The partition out that holds ``request_id``, read; None when no partition out holds it."""
        asked = next((a for a in self.out(run) if a.holds(request_id)), None)
        return await self.read(client, asked) if asked is not None else None

    async def open_ids(
        self, client: DurableClient, run: RunSnapshot | None, request_ids: frozenset[str]
    ) -> set[str]:
        """Which of ``request_ids`` are open in the run's partitions (each partition read once)."""
        found: set[str] = set()
        for asked in self.out(run):
            if any(asked.holds(r) for r in request_ids):
                pending = (await self.read(client, asked)).pending
                found |= {p.request_id for p in pending} & request_ids
        return found

    async def unfinished(self, client: DurableClient, run: RunSnapshot | None) -> list[str]:
        """Every partition the run started (steps and approvals) that has not finished."""
        if run is None:
            return []
        left = []
        for instance_id in run.partitions:
            status = await client.status(instance_id)
            if status is not None and not status.finished:
                left.append(instance_id)
        return left


def asks_in_partitions(workflow: Workflow) -> bool:
    """Whether the graph has a map of approvals (which asks in partitions above its partition size)."""
    return any(isinstance(g, Map) and isinstance(workflow.nodes[g.target], Approval) for g in workflow.groups)


def entry_owner(partition: str) -> dict[str, Any]:
    """What a view adds to a request a partition holds: where the answer goes (the run's route finds it;
    an SDK's raise_event must name this instance)."""
    return {"partition": partition}


__all__ = ["PartitionRead", "PartitionReader", "asks_in_partitions", "entry_owner"]
