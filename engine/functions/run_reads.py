"""Reading a run for one request: its status and history through the client seam, folded once into its
snapshot (``engine.durable.fold``), and what a request waits for (``?wait=``).

A handler reads the run it names once (``RunReader.named``); a request that waits polls the run's small
status and folds again only when that changed or a person's answer must be seen. Sub-workflow runs are
read the same way, through the snapshot's ``children``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from engine.core.graph import Workflow
from engine.core.step_loop import LoopExecutor
from engine.core.subworkflow import SubWorkflow
from engine.core.versions import VersionNotAvailable, WorkflowVersions
from engine.durable.admission import run_nonce_in
from engine.durable.client import DurableClient, InstanceHistory, InstanceStatus
from engine.durable.fold import fold
from engine.durable.history import HistoryEvent
from engine.durable.phase import FINISHED
from engine.durable.run_snapshot import RunSnapshot
from engine.durable.status import RunStatus
from engine.functions.http_json import HttpError
from engine.functions.loop_reads import LoopReader
from engine.functions.partition_reads import PartitionReader, asks_in_partitions
from engine.functions.run_view import pending_approvals

MAX_CHILD_DEPTH = 4  # sub-workflows within sub-workflows listed in a parent's view
WAIT_POLL_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class RunRead:
    """A run as one request reads it: its status, its current execution's history, and that history
    folded (None before it started, or when its graph is not served: ``version_problem`` says why)."""

    status: InstanceStatus
    events: list[HistoryEvent]
    snapshot: RunSnapshot | None
    version_problem: str | None = None

    @property
    def run_nonce(self) -> str | None:
        """The nonce of the run this read found under its instance id (its links and answers name it)."""
        started = next((e for e in self.events if e.type == "ExecutionStarted"), None)
        if started is None:
            return None
        return run_nonce_in(started.input)

    @property
    def finished(self) -> bool:
        """Whether the run has finished."""
        return self.status.finished


@dataclass(frozen=True, slots=True)
class Wait:
    """``?wait=S&until=&answered=`` of the run view: how long, and for what, to hold the answer."""

    seconds: int
    until: str = "settled"
    answered: frozenset[str] = frozenset()


class RunReader:
    """Reads runs of the app's workflows for the handlers."""

    def __init__(
        self,
        versions: WorkflowVersions,
        workflows: Mapping[str, Workflow],
        partitions: PartitionReader,
        *,
        activity: str,
        continue_every: int,
        loops: LoopReader | None = None,
    ) -> None:
        self.versions = versions
        self.workflows = workflows
        self.partitions = partitions
        self.loops = loops or LoopReader(versions, partitions)
        self.activity = activity
        self.continue_every = continue_every

    @staticmethod
    def unknown(workflow: Workflow, instance_id: str) -> HttpError:
        """The 404 for a run the workflow does not have."""
        return HttpError(404, f"no run {instance_id!r} of workflow {workflow.name!r}", field="instanceId")

    async def status_of(self, workflow: Workflow, instance_id: str, client: DurableClient) -> InstanceStatus:
        """The run's small status (no history): 404 when ``workflow`` has no run of that id."""
        status = await client.status(instance_id)
        if status is None or status.name != workflow.name:
            raise self.unknown(workflow, instance_id)
        return status

    async def named(self, workflow: Workflow, instance_id: str, client: DurableClient) -> RunRead:
        """The run, read once: 404 when ``workflow`` has no run of that id."""
        read = await client.history(instance_id)
        if read is None or read.status.name != workflow.name:
            raise self.unknown(workflow, instance_id)
        return self.folded(workflow, read)

    async def read(self, workflow: Workflow, client: DurableClient, instance_id: str) -> RunRead:
        """The run of ``workflow`` read again (after a wait, or a child's): 404 when it is gone."""
        read = await client.history(instance_id)
        if read is None:  # purged meanwhile
            raise self.unknown(workflow, instance_id)
        return self.folded(workflow, read)

    def folded(self, workflow: Workflow, read: InstanceHistory) -> RunRead:
        """The history folded through the orchestrator on the graph the run started on (or why that
        graph is not served here)."""
        full, events = read.status, read.events
        if not events and full.input is not None:
            # Not started yet, or between a continue-as-new and its next execution: its input is all
            # there is, and folding it gives the run as it stands.
            events = [HistoryEvent(type="ExecutionStarted", timestamp=full.created, input=full.input)]
        if not events:
            return RunRead(full, events, None)
        try:
            snapshot = fold(
                self.versions,
                full.instance_id,
                events,
                activity=self.activity,
                continue_every=self.continue_every,
                name=workflow.name,
            )
        except VersionNotAvailable as exc:
            return RunRead(full, events, None, str(exc))
        drift = snapshot.drift()
        if drift is not None and full.runtime != "Failed":
            # The code changed under the run (same version and fingerprint): the orchestrator fails it as
            # soon as it replays; until then it is shown, and its approvals refused, for that reason.
            return RunRead(full, events, None, drift[1])
        return RunRead(full, events, snapshot)

    # --- waiting --------------------------------------------------------------------------------------

    async def settled(
        self, workflow: Workflow, client: DurableClient, status: InstanceStatus, wait: Wait
    ) -> None:
        """Wait (up to ``wait.seconds``) until the run has finished or, unless ``wait.until`` is
        ``finished``, waits for a person on no request of ``wait.answered`` (answers not yet processed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait.seconds
        while status.runtime not in FINISHED:
            if wait.until == "settled" and await self._settled_now(workflow, client, status, wait.answered):
                return
            if loop.time() >= deadline:
                return
            await asyncio.sleep(WAIT_POLL_SECONDS)
            latest = await client.status(status.instance_id)
            if latest is None:
                return  # purged meanwhile: the view says so
            status = latest

    async def _settled_now(
        self, workflow: Workflow, client: DurableClient, status: InstanceStatus, answered: frozenset[str]
    ) -> bool:
        """Whether the run waits for a person now (itself, a partition, a sub-workflow) on no request of
        ``answered``."""
        if await self._child_asks(workflow, client, status):
            return True
        if await self._loop_asks(workflow, client, status, answered):
            return True
        summary = RunStatus.read(status.custom_status)
        if summary is None or summary.phase != "waiting_for_approval":
            return False
        if not answered:
            # Settled once every request is asked: a map's partitions ask theirs a moment later.
            if not asks_in_partitions(workflow):
                return True
            snapshot = (await self.read(workflow, client, status.instance_id)).snapshot
            return await self.partitions.all_asking(client, snapshot)
        snapshot = (await self.read(workflow, client, status.instance_id)).snapshot
        open_ids = {p.request_id for p in pending_approvals(status.runtime, snapshot)}
        open_ids |= await self.partitions.open_ids(client, snapshot, answered)
        return not open_ids & answered

    async def _loop_asks(
        self, workflow: Workflow, client: DurableClient, status: InstanceStatus, answered: frozenset[str]
    ) -> bool:
        """Whether an agent step of this run waits for a person on a request not among ``answered`` (only
        graphs whose agents ask before a tool look: the run itself only says it is running)."""
        if not any(n.step_approvals() for n in workflow.nodes.values() if isinstance(n, LoopExecutor)):
            return False
        snapshot = (await self.read(workflow, client, status.instance_id)).snapshot
        open_ids = {p.request_id for _, p in await self.loops.pending(client, snapshot)}
        return bool(open_ids) and not open_ids & answered

    async def _child_asks(self, workflow: Workflow, client: DurableClient, status: InstanceStatus) -> bool:
        """Whether a sub-workflow of this run waits for a person (only graphs with sub-workflows look)."""
        if not any(isinstance(n, SubWorkflow) for n in workflow.nodes.values()):
            return False
        read = await self.read(workflow, client, status.instance_id)
        return await self._child_pending(client, read.snapshot)

    async def _child_pending(
        self, client: DurableClient, snapshot: RunSnapshot | None, depth: int = 0
    ) -> bool:
        async for _, _, runtime, read in self.child_reads(client, snapshot, depth):
            if read is not None and pending_approvals(runtime, read.snapshot):
                return True
            if read is not None and await self._child_pending(client, read.snapshot, depth + 1):
                return True
        return False

    # --- sub-workflow runs ----------------------------------------------------------------------------

    async def child_reads(
        self,
        client: DurableClient,
        snapshot: RunSnapshot | None,
        depth: int,
        limit: int | None = None,
    ) -> AsyncIterator[tuple[str, str, str, RunRead | None]]:
        """Each sub-workflow run the fold saw this run start (the first ``limit``): its instance id, its
        workflow, its runtime status, and while it runs, its own read (for its approvals and children)."""
        if snapshot is None or depth > MAX_CHILD_DEPTH:
            return
        for instance_id, name in list(snapshot.children.items())[:limit]:
            child = self.workflows.get(name)
            if child is None:
                continue
            status = await client.status(instance_id)
            if status is None:
                continue
            # A finished child is listed by its status alone: only a running one has approvals to show.
            read = await self.read(child, client, instance_id) if not status.finished else None
            yield instance_id, name, status.runtime, read


__all__ = ["MAX_CHILD_DEPTH", "RunRead", "RunReader", "Wait"]
