"""What a run's looping steps (agents) hold, read for the run's view, timeline, feed and approval route.

An agent step runs as an orchestration of its own (``engine.durable.loop_orchestration``): its calls and
the questions it asks people before a tool are in that orchestration's history, which is read and folded
here as a run's is (``engine.durable.loop_fold``). The run's own fold says which step orchestrations this
execution started (``RunSnapshot.loops``) and which steps run now (``in_flight``); a step's small status
(its open-question count) lets a view fold only the steps that ask someone.

A map of agent steps run in partitions starts their orchestrations from the partitions: the questions are
read there too (each partition of a step that asks before a tool folded, as the partition reads do), so
they are listed, answered and closed as the run's own steps' are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.core.graph import Workflow
from engine.core.run_state import ClosedApproval, PendingApproval
from engine.core.step_loop import LoopExecutor
from engine.core.versions import VersionNotAvailable, WorkflowVersions
from engine.durable.client import DurableClient
from engine.durable.history import HistoryEvent
from engine.durable.loop_fold import fold_loop
from engine.durable.loop_messages import loop_instance_id
from engine.durable.run_snapshot import CallRecord, RunSnapshot
from engine.durable.status import RunStatus
from engine.functions.child_reads import ChildRead, FinishedReads
from engine.functions.partition_reads import FinishedFolds, PartitionReader

# A view reads at most this many step orchestrations for their calls (each costs a history read).
MAX_LOOPS_READ = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopRead(ChildRead):
    """One looping step's orchestration, as a read found it."""

    instance_id: str
    executor: str

    @property
    def calls(self) -> tuple[CallRecord, ...]:
        """The calls its history records."""
        return self.snapshot.calls if self.snapshot is not None else ()


class FinishedLoops:
    """A request's reads of finished step orchestrations and of the finished partitions that started
    them (``FinishedReads``), for a request that reads the same run again."""

    def __init__(self) -> None:
        self.loops: FinishedReads[LoopRead] = FinishedReads()
        self.partitions: FinishedFolds = FinishedReads()


class LoopReader:
    """Reads the step orchestrations of a run's looping steps (and, given the partition reader, of those
    its map partitions started)."""

    def __init__(self, versions: WorkflowVersions, partitions: PartitionReader | None = None) -> None:
        self.versions = versions
        self.partitions = partitions

    async def _starters(
        self,
        client: DurableClient,
        run: RunSnapshot | None,
        *,
        unfinished: bool,
        asking: bool = True,
        finished: FinishedFolds | None = None,
    ) -> list[RunSnapshot]:
        """The run, then its partitions that ran a looping step (one asking people, when ``asking``; only
        unfinished partitions, when ``unfinished``)."""
        if run is None:
            return []
        if self.partitions is None:
            return [run]
        nodes = asking_steps(run.workflow) if asking else looping_steps(run.workflow)
        folds = await self.partitions.step_folds(client, run, nodes, unfinished=unfinished, finished=finished)
        return [run, *folds]

    async def read(
        self,
        client: DurableClient,
        instance_id: str,
        executor: str,
        finished: FinishedReads[LoopRead] | None = None,
    ) -> LoopRead:
        """A step orchestration's status and fold (one ``finished`` holds is not read again)."""
        kept = finished.get(instance_id) if finished is not None else None
        if kept is not None:
            return kept
        read = await self._read(client, instance_id, executor)
        return finished.keep(instance_id, read.runtime, read) if finished is not None else read

    async def _read(self, client: DurableClient, instance_id: str, executor: str) -> LoopRead:
        history = await client.history(instance_id)
        runtime = history.status.runtime if history is not None else None
        events: list[HistoryEvent] = history.events if history is not None else []
        if runtime is None or not events:
            return LoopRead(instance_id=instance_id, executor=executor, runtime=runtime, snapshot=None)
        try:
            return LoopRead(
                instance_id=instance_id,
                executor=executor,
                runtime=runtime,
                snapshot=fold_loop(self.versions, instance_id, events),
            )
        except VersionNotAvailable:
            return LoopRead(instance_id=instance_id, executor=executor, runtime=runtime, snapshot=None)

    @staticmethod
    def running(run: RunSnapshot | None) -> list[tuple[str, str]]:
        """The orchestrations of the looping steps running now: (instance id, executor)."""
        if run is None or not run.loops:
            return []
        found = []
        for step, attempt in run.in_flight:
            iid = loop_instance_id(run.instance_id, step.executor_id, run.superstep, step.ordinal, attempt)
            if iid in run.loops:
                found.append((iid, step.executor_id))
        return found

    async def asking(self, client: DurableClient, run: RunSnapshot | None) -> list[LoopRead]:
        """The running steps that ask people now (their status counts open questions), read: the run's and
        its unfinished partitions'."""
        running = [
            s for part in await self._starters(client, run, unfinished=True) for s in self.running(part)
        ]
        reads = []
        for instance_id, executor in running:
            status = await client.status(instance_id)
            summary = RunStatus.read(status.custom_status) if status is not None else None
            if status is None or status.finished or summary is None or not summary.approvals_count:
                continue
            reads.append(await self.read(client, instance_id, executor))
        return reads

    async def pending(
        self, client: DurableClient, run: RunSnapshot | None
    ) -> list[tuple[str, PendingApproval]]:
        """Every open question of the run's running steps, with the orchestration that asks it."""
        return [(read.instance_id, p) for read in await self.asking(client, run) for p in read.pending]

    async def holding(
        self, client: DurableClient, run: RunSnapshot | None, request_id: str
    ) -> LoopRead | None:
        """The step orchestration that asked ``request_id`` (open or closed), read; None if none did."""
        if run is None:
            return None
        loops = [
            loop
            for part in await self._starters(client, run, unfinished=False)
            for loop in part.loops.items()
        ]
        for instance_id, executor in _newest_first(loops):
            if not _may_hold(instance_id, run.instance_id, executor, request_id):
                continue
            read = await self.read(client, instance_id, executor)
            if any(p.request_id == request_id for p in read.pending + read.closed):
                return read
        return None

    async def closed(self, client: DurableClient, run: RunSnapshot | None) -> list[ClosedApproval]:
        """The questions the run's steps (and its partitions' steps) asked that have closed, in the order
        they closed: only the steps that ask before a tool are read."""
        if run is None:
            return []
        nodes = asking_steps(run.workflow)
        loops = [
            (instance_id, executor)
            for part in await self._starters(client, run, unfinished=False)
            for instance_id, executor in part.loops.items()
            if executor in nodes
        ]
        reads = [await self.read(client, i, e) for i, e in loops[:MAX_LOOPS_READ]]
        return sorted((c for r in reads for c in r.closed), key=lambda c: c.at)

    async def all(
        self,
        client: DurableClient,
        run: RunSnapshot | None,
        *,
        in_partitions: bool = False,
        finished: FinishedLoops | None = None,
    ) -> list[LoopRead]:
        """Every step orchestration this execution started (the first ``MAX_LOOPS_READ``), read; with
        ``in_partitions``, those its map partitions started too (each partition folded to find them).
        What ``finished`` holds (from an earlier read in the same request) is not read again."""
        if run is None:
            return []
        if in_partitions:
            folds = finished.partitions if finished is not None else None
            parts = await self._starters(client, run, unfinished=False, asking=False, finished=folds)
        else:
            parts = [run]
        loops = [loop for part in parts for loop in part.loops.items()][:MAX_LOOPS_READ]
        kept = finished.loops if finished is not None else None
        return [await self.read(client, instance_id, executor, kept) for instance_id, executor in loops]

    async def unfinished(self, client: DurableClient, run: RunSnapshot | None) -> list[str]:
        """Every step orchestration of the run that has not finished (to terminate with the run)."""
        if run is None:
            return []
        left = []
        # Every partition, finished or not: the run's terminate may have ended a partition already, and
        # Durable Functions leaves its sub-orchestrations running.
        parts = await self._starters(client, run, unfinished=False, asking=False)
        loops = [i for part in parts for i in part.loops]
        for instance_id in loops:
            status = await client.status(instance_id)
            if status is not None and not status.finished:
                left.append(instance_id)
        return left


def looping_steps(workflow: Workflow) -> frozenset[str]:
    """The looping steps (agents) of the graph."""
    return frozenset(n.id for n in workflow.nodes.values() if isinstance(n, LoopExecutor))


def asking_steps(workflow: Workflow) -> frozenset[str]:
    """The looping steps of the graph that ask a person before a call."""
    return frozenset(
        n.id for n in workflow.nodes.values() if isinstance(n, LoopExecutor) and n.step_approvals()
    )


def _newest_first(loops: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(reversed(list(loops)))


def _may_hold(instance_id: str, run_id: str, executor: str, request_id: str) -> bool:
    """Whether a step's orchestration could have asked ``request_id``: its requests are
    ``<step>.<tool>...-s<superstep>-<ordinal>-<call>`` of that step's superstep and ordinal."""
    head, _, tail = instance_id.removeprefix(f"{run_id}:{executor}:").partition(":")
    parts = request_id.rsplit("-", 3)
    if len(parts) != 4 or not parts[0].startswith(f"{executor}."):
        return False
    superstep, ordinal = head, tail.split(":", 1)[0]
    return parts[1] == f"s{superstep}" and parts[2] == ordinal


def loop_owner(loop_instance: str) -> dict[str, str]:
    """What a view adds to a question a looping step asks: the orchestration that waits for the answer."""
    return {"step_orchestration": loop_instance}


__all__ = ["LoopRead", "LoopReader", "asking_steps", "loop_owner"]
