"""The workflow HTTP API: start runs, read a run's view, answer approvals, terminate, list runs.

Every answer is JSON; every error is an ``HttpError`` naming the field that is wrong. A run's state is read
from its history through the orchestrator (``engine.durable.fold``), never from a trimmed copy.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.core.approval import Approval
from engine.core.graph import Workflow
from engine.core.jsontext import unwrapped
from engine.core.run_state import ClosedApproval, PendingApproval
from engine.core.step_loop import LoopExecutor
from engine.core.subworkflow import SubWorkflow
from engine.core.versions import VersionNotAvailable, WorkflowVersions
from engine.core.viz import to_graph_json
from engine.durable.admission import started_input
from engine.durable.answers import AnswerEnvelope, Binding, signed_envelope
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.client import DurableClient, InstanceStatus, RefusedByBackend, all_instances
from engine.durable.fold import fold
from engine.durable.history import HistoryEvent
from engine.durable.partition import ANSWERS_EVENT, PartitionAnswer
from engine.durable.phase import FINISHED, UNFINISHED
from engine.durable.phase import RUNTIME_STATUSES as ALL_RUNTIME_STATUSES
from engine.durable.run_snapshot import RunSnapshot
from engine.durable.signing_keys import SigningKeys
from engine.durable.status import RunStatus
from engine.functions.approval_tokens import TokenError, issue, peek_claims, token_expiry, verify
from engine.functions.dashboard import serve as serve_dashboard
from engine.functions.feed import Feed, after, child_approvals, parse_cursor, run_events, running_steps
from engine.functions.http_json import HttpError, check_instance_id, json_response, read_json, validated
from engine.functions.identity import Caller, approver, with_link
from engine.functions.loop_reads import LoopReader, loop_owner
from engine.functions.loop_rows import feed_events, timeline_rows
from engine.functions.map_progress import step_items
from engine.functions.openapi import openapi_document
from engine.functions.partition_reads import PartitionReader, asks_in_partitions, entry_owner
from engine.functions.public_url import public_origin, rebased
from engine.functions.run_view import (
    Page,
    approval_entry,
    approval_ids,
    pending_approvals,
    run_summary,
    run_view,
)
from engine.functions.settings import engine_settings
from engine.functions.timeline import run_timeline
from engine.telemetry.runs import run_start

MAX_CHILD_DEPTH = 4  # sub-workflows within sub-workflows listed in a parent's view
MAX_CHILDREN_LISTED = 100  # child runs a view reads (childrenTotal counts them all)
RUNTIME_STATUSES = {s.lower(): s for s in ALL_RUNTIME_STATUSES}  # as ?status= names them, any case
MAX_WAIT_SECONDS = 60
FEED_PAGE = 1_000  # events one feed answer gives unless ?limit= says otherwise
MAX_FEED_PAGE = 10_000
WAIT_POLL_SECONDS = 0.25
ANSWER_WAIT_SECONDS = 5.0  # how long an answer waits to learn whether it decided the approval


class LinkRequest(BaseModel):
    """``POST .../approvals/{requestId}/links``: whom the link is for (``null``: no one in particular,
    only for approvals without named approvers)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    for_: str | None = Field(default=None, alias="for", min_length=1, max_length=200)


class ReasonBody(BaseModel):
    """The body of terminate and rewind (optional)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str | None = Field(default=None, max_length=1000)


@dataclass(frozen=True, slots=True)
class RunRead:
    """A run as one request reads it: its status with history, and that history folded."""

    status: Any
    events: list[HistoryEvent]
    folded: RunSnapshot | None
    version_problem: str | None = None  # why the graph the run started on is not served here

    @property
    def run_nonce(self) -> str | None:
        """The nonce of the run this read found under its instance id (its links and answers name it)."""
        started = next((e for e in self.events if e.type == "ExecutionStarted"), None)
        if started is None:
            return None
        try:
            return started_input(unwrapped(started.input)).run_nonce
        except ValidationError:
            return None


@dataclass(frozen=True, slots=True)
class Wait:
    """``?wait=S&until=&answered=`` of the run view: how long, and for what, to hold the answer."""

    seconds: int
    until: str = "settled"
    answered: frozenset[str] = frozenset()


class WorkflowApi:
    """The handlers of the route table, over the workflows of one app."""

    def __init__(
        self, versions: WorkflowVersions, *, route_prefix: str, activity_name: str, continue_every: int
    ) -> None:
        self.versions = versions
        self.workflows = versions.newest()  # what new runs start on, and what routes name
        self.route_prefix = route_prefix
        self.activity_name = activity_name
        self.partition_reads = PartitionReader(versions, activity_name)
        self.loop_reads = LoopReader(versions)  # agent steps: their calls, and people asked before a tool
        self.continue_every = continue_every

    def _workflow(self, req: func.HttpRequest) -> Workflow:
        name = req.route_params.get("name", "")
        workflow = self.workflows.get(name)
        if workflow is None:
            raise HttpError(404, f"unknown workflow {name!r}", field="name", known=sorted(self.workflows))
        return workflow

    def _base(self, req: func.HttpRequest) -> str:
        return f"{_api_base(req, self.route_prefix)}/{self.route_prefix}"

    async def list_workflows(self, req: func.HttpRequest, client: Any) -> func.HttpResponse:
        return json_response(
            {
                "workflows": [
                    {
                        "name": wf.name,
                        "version": wf.version,
                        "fingerprint": wf.fingerprint,
                        "versions": [w.version for w in self.versions.versions(wf.name)],
                        "description": wf.description,
                        "start": wf.start,
                        "input_schema": wf.input_schema(),
                        "mermaid": wf.to_mermaid(),
                        "graph": to_graph_json(wf),
                        "approvals": [
                            {"id": a.id, "description": a.description, "response_schema": a.response_schema()}
                            for a in wf.every_approval()  # agents' questions before a tool too
                        ],
                        "start_uri": f"{self._base(req)}/{wf.name}",
                    }
                    for wf in self.workflows.values()
                ]
            }
        )

    async def start_run(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        workflow = self._workflow(req)
        wanted = req.params.get("version")
        if wanted is not None:
            chosen = self.versions.labelled(workflow.name, wanted)
            if chosen is None:
                known = [w.version for w in self.versions.versions(workflow.name)]
                raise HttpError(
                    404, f"workflow {workflow.name!r} has no version {wanted!r}", field="version", known=known
                )
            workflow = chosen
        body = read_json(req, limit=engine_settings().max_body_bytes)
        message = validated(workflow.validate_input, body, f"input for workflow {workflow.name!r}")
        instance_id = req.params.get("instanceId")
        if instance_id is not None:
            check_instance_id(instance_id)
            if ":" in instance_id:
                # A run's sub-workflow runs and map partitions are named "<run>:...": a run chosen so could
                # take one's place, and the run it belongs to would fail when it starts it.
                raise HttpError(
                    400,
                    "invalid instanceId: ':' is kept for the ids of a run's sub-workflow runs and map "
                    "partitions; choose an id without it",
                    field="instanceId",
                )
            if await client.status(instance_id) is not None:
                raise HttpError(409, f"instance id {instance_id!r} is already in use", field="instanceId")
        with run_start(workflow.name, workflow.version, req.headers) as traced:
            payload = OrchestratorInput.start(
                workflow.start_node.input_adapter.dump_python(message, mode="json"),
                workflow=workflow,
                traceparent=traced.traceparent,
            )
            # The run's graph is chosen by the version recorded in its input, not by the Durable Functions
            # orchestration version: the extension's worker versioning (on by default: CurrentOrOlder and
            # Reject, against host.json's defaultVersion) would leave every run with a version newer than
            # defaultVersion Pending. host.json versioning stays the user's own, for their plain
            # orchestrators.
            instance_id = await client.start(workflow.name, instance_id, payload.model_dump(mode="json"))
            traced.started(instance_id)
        origin = public_origin(req)
        links = {
            k: rebased(v, origin) if k.endswith("Uri") else v
            for k, v in client.management_links(instance_id).items()
        }
        if not engine_settings().expose_system_keys:
            links = {k: _without_key(v) for k, v in links.items()}
        run_uri = self._run_uri(req, workflow, instance_id)
        return json_response(
            {**links, "runUri": run_uri}, status=202, headers={"Location": run_uri, "Retry-After": "2"}
        )

    async def _run_status(
        self, req: func.HttpRequest, client: DurableClient
    ) -> tuple[Workflow, InstanceStatus]:
        workflow = self._workflow(req)
        instance_id = check_instance_id(req.route_params.get("instanceId", ""))
        status = await client.status(instance_id)
        if status is None or status.name != workflow.name:
            raise HttpError(404, f"no run {instance_id!r} of workflow {workflow.name!r}", field="instanceId")
        return workflow, status

    async def _read(self, workflow: Workflow, client: DurableClient, instance_id: str) -> RunRead:
        """The run's status and history, and the history folded through the orchestrator on the graph
        the run started on (or why that graph is not served here)."""
        read = await client.history(instance_id)
        if read is None:  # purged meanwhile
            raise HttpError(404, f"no run {instance_id!r} of workflow {workflow.name!r}", field="instanceId")
        full, events = read.status, read.events
        if not events and full.input is not None:
            # Not started yet, or between a continue-as-new and its next execution: its input is all
            # there is, and folding it gives the run as it stands.
            events = [HistoryEvent(type="ExecutionStarted", timestamp=full.created, input=full.input)]
        if not events:
            return RunRead(full, events, None)
        try:
            folded = fold(
                self.versions,
                instance_id,
                events,
                activity=self.activity_name,
                continue_every=self.continue_every,
                name=workflow.name,
            )
        except VersionNotAvailable as exc:
            return RunRead(full, events, None, str(exc))
        drift = folded.drift()
        if drift is not None and full.runtime != "Failed":
            # The code changed under the run (same version and fingerprint): the orchestrator fails it as
            # soon as it replays; until then it is shown, and its approvals refused, for that reason.
            return RunRead(full, events, None, drift[1])
        return RunRead(full, events, folded)

    async def _settled(self, workflow: Workflow, client: DurableClient, status: Any, wait: Wait) -> None:
        """Wait (up to ``wait.seconds``) until the run has finished or, unless ``wait.until`` is
        ``finished``, waits for a person on no request of ``wait.answered`` (answers not yet processed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait.seconds
        while True:
            runtime = status.runtime
            if runtime in FINISHED:
                return
            summary = RunStatus.read(status.custom_status)
            if wait.until == "settled" and await self._child_asks(workflow, client, status):
                return
            if wait.until == "settled" and await self._loop_asks(workflow, client, status, wait.answered):
                return
            if wait.until == "settled" and summary is not None and summary.phase == "waiting_for_approval":
                if not wait.answered:
                    # Settled once every request is asked: a map's partitions ask theirs a moment later.
                    if not asks_in_partitions(workflow):
                        return
                    folded = (await self._read(workflow, client, status.instance_id)).folded
                    if await self.partition_reads.all_asking(client, folded):
                        return
                else:
                    folded = (await self._read(workflow, client, status.instance_id)).folded
                    open_ids = {p.request_id for p in pending_approvals(runtime, folded)}
                    open_ids |= await self.partition_reads.open_ids(client, folded, wait.answered)
                    if not open_ids & wait.answered:
                        return
            if loop.time() >= deadline:
                return
            await asyncio.sleep(WAIT_POLL_SECONDS)
            latest = await client.status(status.instance_id)
            if latest is None:
                return  # purged meanwhile: the view says so
            status = latest

    async def _loop_asks(
        self, workflow: Workflow, client: DurableClient, status: Any, answered: frozenset[str]
    ) -> bool:
        """Whether an agent step of this run waits for a person on a request not among ``answered``
        (only graphs with steps that ask before a tool look)."""
        if not any(n.step_approvals() for n in workflow.nodes.values() if isinstance(n, LoopExecutor)):
            return False
        folded = (await self._read(workflow, client, status.instance_id)).folded
        open_ids = {p.request_id for _, p in await self.loop_reads.pending(client, folded)}
        return bool(open_ids) and not open_ids & answered

    async def _child_asks(self, workflow: Workflow, client: DurableClient, status: Any) -> bool:
        """Whether a sub-workflow of this run waits for a person (only graphs with sub-workflows look)."""
        if not any(isinstance(n, SubWorkflow) for n in workflow.nodes.values()):
            return False
        read = await self._read(workflow, client, status.instance_id)
        return await self._child_pending(client, read.folded)

    async def _child_pending(self, client: DurableClient, folded: RunSnapshot | None, depth: int = 0) -> bool:
        async for _, _, runtime, read in self._child_reads(client, folded, depth):
            if read is not None and pending_approvals(runtime, read.folded):
                return True
            if read is not None and await self._child_pending(client, read.folded, depth + 1):
                return True
        return False

    async def _child_reads(
        self,
        client: DurableClient,
        folded: RunSnapshot | None,
        depth: int,
        limit: int | None = None,
    ) -> AsyncIterator[tuple[str, str, str, RunRead | None]]:
        """Each sub-workflow run the fold saw this run start (the first ``limit``): its instance id, its
        workflow, its runtime status, and while it runs, its own read (for its approvals and children)."""
        if folded is None or depth > MAX_CHILD_DEPTH:
            return
        for instance_id, name in list(folded.children.items())[:limit]:
            child = self.workflows.get(name)
            status = await client.status(instance_id)
            if child is None or status is None:
                continue
            runtime = status.runtime
            read = await self._read(child, client, instance_id) if runtime not in FINISHED else None
            yield instance_id, name, runtime, read

    async def get_run(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        workflow, status = await self._run_status(req, client)
        wait = Wait(
            seconds=_int_param(req, "wait", default=0, low=0, high=MAX_WAIT_SECONDS),
            until=_choice(req, "until", ("settled", "finished")),
            answered=frozenset(r for r in req.params.get("answered", "").split(",") if r),
        )
        page = Page(
            skip=_int_param(req, "approvals_skip", default=0, low=0, high=10_000_000),
            top=_int_param(req, "approvals_top", default=100, low=1, high=1000),
        )
        if wait.seconds:
            await self._settled(workflow, client, status, wait)
        read = await self._read(workflow, client, status.instance_id)
        folded = read.folded
        run_uri = self._run_uri(req, workflow, status.instance_id)
        graph = folded.workflow if folded is not None else workflow  # the run's own version
        may_answer = await self._viewer_may_answer(req, read)
        view = run_view(
            graph, read.status, folded, run_uri, may_answer, page, read.events, self.activity_name
        )
        view["versionProblem"] = read.version_problem
        children, asked = await self._children(req, client, folded, depth=0)
        view["children"] = children
        view["childrenTotal"] = len(folded.children) if folded is not None else 0
        # An approval inside a sub-workflow is the parent's to see and answer too (through the child's
        # route, where its respond link points).
        view["pendingApprovals"] += asked
        view["pendingApprovalsTotal"] += len(asked)
        if read.status.runtime not in FINISHED:
            # A map's approvals asked in partitions come after the run's own, on the same pages.
            own = view["pendingApprovalsTotal"]
            listed, total = await self.partition_reads.page(
                client, folded, max(0, page.skip - own), page.top - len(view["pendingApprovals"])
            )
            view["pendingApprovals"] += [
                {**approval_entry(graph, p, run_uri, may_answer), **entry_owner(a.instance_id)}
                for a, p in listed
            ]
            view["pendingApprovalsTotal"] += total
        if read.status.runtime not in FINISHED:
            # People asked by agent steps before a tool (in the steps' own orchestrations).
            for loop, p in await self.loop_reads.pending(client, folded):
                view["pendingApprovals"].append(
                    {**approval_entry(graph, p, run_uri, may_answer), **loop_owner(loop)}
                )
                view["pendingApprovalsTotal"] += 1
                view["executors"][graph.approval_owner(p.approval_id)] = "waiting"
                asked.append(view["pendingApprovals"][-1])
        if asked and view["phase"] == "running":
            view["phase"] = "waiting_for_approval"  # a person is asked, inside a sub-workflow or agent step
        if _choice(req, "timeline", ("false", "true", "0", "1")) in ("true", "1"):
            partition_steps, not_listed = await self.partition_reads.step_rows(client, folded)
            agent_rows = timeline_rows(await self.loop_reads.all(client, folded), status.instance_id, None)
            view["timeline"] = run_timeline(
                read.events,
                self.activity_name,
                requests=folded.requests if folded is not None else None,
                closed=folded.closed_approvals if folded is not None else (),
                approval_ids=approval_ids(folded),
                items=step_items(folded),
                partition_steps=partition_steps,
                partitions_not_listed=not_listed,
                loop_rows=agent_rows,
            ).model_dump(mode="json")
        return json_response(view)

    async def _children(
        self,
        req: func.HttpRequest,
        client: DurableClient,
        folded: RunSnapshot | None,
        *,
        depth: int,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The sub-workflow runs the fold saw this run start, and their (and their children's) open
        approvals, each naming the run it belongs to."""
        children: list[dict[str, Any]] = []
        asked: list[dict[str, Any]] = []
        base = self._base(req)
        # Each child costs a status read (and a fold while it runs): a view lists the first ones only.
        async for instance_id, name, runtime, read in self._child_reads(
            client, folded, depth, MAX_CHILDREN_LISTED
        ):
            uri = f"{base}/{name}/runs/{instance_id}"
            pending = pending_approvals(runtime, read.folded) if read is not None else []
            if read is not None and read.folded is not None:
                may_answer = await self._viewer_may_answer(req, read)
                graph = read.folded.workflow
                for p in pending:
                    entry = approval_entry(graph, p, uri, may_answer)
                    owner = {"workflow": name, "instanceId": instance_id, "runUri": uri}
                    asked.append({**entry, "run": owner})
                asked += (await self._children(req, client, read.folded, depth=depth + 1))[1]
            children.append(
                {
                    "workflow": name,
                    "instanceId": instance_id,
                    "runtimeStatus": runtime,
                    "runUri": uri,
                    "pendingApprovals": len(pending),
                }
            )
        return children, asked

    async def get_events(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        workflow, status = await self._run_status(req, client)
        cursor = req.params.get("after") or None
        if cursor is not None and parse_cursor(cursor) is None:
            raise HttpError(400, f"{cursor!r} is not a cursor of this feed", field="after")
        wait = _int_param(req, "wait", default=0, low=0, high=MAX_WAIT_SECONDS)
        limit = _int_param(req, "limit", default=FEED_PAGE, low=1, high=MAX_FEED_PAGE)
        latest = _choice(req, "latest", ("false", "true")) == "true"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            read = await self._read(workflow, client, status.instance_id)
            runtime = read.status.runtime
            events = run_events(read.folded, read.events, runtime)
            events += feed_events(await self.loop_reads.all(client, read.folded), status.instance_id)
            if runtime not in FINISHED:
                events += child_approvals((await self._children(req, client, read.folded, depth=0))[1])
            events.sort(key=lambda e: (e.at, e.cursor.partition("|")[2]))
            fresh = after(events, cursor)
            if latest:
                fresh = fresh[-1:]
            finished = runtime in FINISHED
            if fresh or finished or loop.time() >= deadline:
                break
            await asyncio.sleep(WAIT_POLL_SECONDS)
        page, more = fresh[:limit], len(fresh) > limit
        feed = Feed(
            events=page,
            cursor=page[-1].cursor if page else cursor,
            running=running_steps(read.folded, runtime),
            more=more,
            finished=finished and not more,
        )
        return json_response(feed.model_dump(mode="json"))

    async def _open_run(self, req: func.HttpRequest, client: DurableClient) -> tuple[Workflow, Any, str]:
        """The run and request id named in the route; 410 when the run has finished."""
        workflow, status = await self._run_status(req, client)
        runtime = status.runtime
        if runtime in FINISHED:
            raise HttpError(410, f"run {status.instance_id!r} has finished ({runtime})")
        return workflow, status, req.route_params.get("requestId", "")

    async def _pending_in(
        self, client: DurableClient, status: Any, read: RunRead, request_id: str
    ) -> tuple[PendingApproval, str, list[ClosedApproval]]:
        """The pending approval request, the instance that waits for its answer (the run, or the map
        partition that asked it), and the requests closed there: 404 when unknown, 409 when closed or
        when the run's version is not served here. Read from histories, whatever the number of open
        requests."""
        if read.version_problem is not None:
            raise HttpError(409, read.version_problem)
        folded = read.folded
        runtime = status.runtime
        closed = list(folded.closed_approvals) if folded is not None else []
        pending = next((p for p in pending_approvals(runtime, folded) if p.request_id == request_id), None)
        if pending is not None:
            return pending, status.instance_id, closed
        held = await self.partition_reads.holding(client, folded, request_id)
        if held is not None:
            pending = next((p for p in held.pending if p.request_id == request_id), None)
            if pending is not None:
                return pending, held.asked.instance_id, closed + held.closed
            closed += held.closed
        in_loop = await self.loop_reads.holding(client, folded, request_id)
        if in_loop is not None:  # asked by an agent step before a tool
            pending = next((p for p in in_loop.pending if p.request_id == request_id), None)
            if pending is not None:
                return pending, in_loop.instance_id, closed + in_loop.closed
            closed += in_loop.closed
        if any(c.request_id == request_id for c in closed):
            raise HttpError(409, f"approval request {request_id!r} has already been answered or timed out")
        raise HttpError(
            404,
            f"no pending approval request {request_id!r} in run {status.instance_id!r}",
            field="requestId",
        )

    async def get_approval(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        workflow, status, request_id = await self._open_run(req, client)
        read = await self._read(workflow, client, status.instance_id)
        pending, waiting, _ = await self._pending_in(client, status, read, request_id)
        folded = read.folded
        assert folded is not None  # a pending approval comes from a fold
        base = self._run_uri(req, workflow, status.instance_id)
        entry = approval_entry(
            folded.workflow,
            pending,
            base,
            await self._viewer_may_answer(req, read),
        )
        if waiting == status.instance_id:
            return json_response(entry)
        owner = entry_owner(waiting) if pending.event_name == ANSWERS_EVENT else loop_owner(waiting)
        return json_response({**entry, **owner})

    @staticmethod
    async def _caller(req: func.HttpRequest, link_subject: str | None = None) -> Caller:
        """Who is calling, as far as it can be verified (a bearer token's keys may need fetching, so off
        the loop); a respond link issued to a person names them when nobody else vouches for the caller."""
        return await asyncio.to_thread(approver, req.headers, link_subject)

    async def _viewer_may_answer(
        self, req: func.HttpRequest, read: RunRead
    ) -> Callable[[PendingApproval], bool]:
        """``can_answer`` for whoever views: their verified identity, and - opened through a respond
        link (``?token=``) - the person the link names, for that one request of this run."""
        caller = await self._caller(req)
        token = req.params.get("token")
        if not token:
            return self._may_answer(caller)
        try:
            claims = peek_claims(token)
            verify(
                SigningKeys.for_links(),
                token,
                instance_id=read.status.instance_id,
                run_nonce=read.run_nonce,
                request_id=claims.r,
                now=datetime.now(UTC),
            )
        except TokenError:
            return self._may_answer(caller)
        holder = with_link(caller, claims.sub)
        return lambda p: self._may_answer(holder if p.request_id == claims.r else caller)(p)

    @staticmethod
    def _may_answer(caller: Caller) -> Callable[[PendingApproval], bool]:
        """Anyone who may call the API answers an approval without named approvers; one with named
        approvers needs an identity among them."""
        return lambda pending: not pending.approvers or caller.is_one_of(pending.approvers)

    async def issue_link(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """A respond link for one person (for a notification): the token names them and expires with the
        approval's deadline. For an approval with named approvers, the person must be one of them."""
        workflow, status, request_id = await self._open_run(req, client)
        body = read_json(req, limit=engine_settings().max_body_bytes)
        wanted = validated(LinkRequest.model_validate, body, "link request")
        read = await self._read(workflow, client, status.instance_id)
        pending = (await self._pending_in(client, status, read, request_id))[0]
        if pending.approvers and wanted.for_ not in pending.approvers:
            raise HttpError(
                400,
                f"a link for {wanted.for_!r} could not answer approval {pending.approval_id!r}: "
                f"it is for {pending.approvers} (name one of the users there)",
                field="for",
            )
        now = datetime.now(UTC)
        token = issue(
            SigningKeys.for_links(),
            instance_id=status.instance_id,
            run_nonce=read.run_nonce,
            request_id=request_id,
            expires=pending.deadline,
            now=now,
            subject=wanted.for_,
        )
        respond = f"{self._run_uri(req, workflow, status.instance_id)}/approvals/{request_id}?token={token}"
        return json_response(
            {"respond_uri": respond, "for": wanted.for_, "expires": token_expiry(token).isoformat()},
            status=201,
        )

    def _run_uri(self, req: func.HttpRequest, workflow: Workflow, instance_id: str) -> str:
        return f"{self._base(req)}/{workflow.name}/runs/{instance_id}"

    async def list_versions(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """Every version of a workflow this app serves, with its unfinished runs: an old version can go
        once none is left."""
        workflow = self._workflow(req)
        unfinished = await all_instances(client, UNFINISHED, with_input=True)
        counts: dict[str | None, int] = {}
        for status in unfinished:
            if status.name == workflow.name:
                started = started_input(status.input)
                counts[started.version] = counts.get(started.version, 0) + 1
        listed = self.versions.versions(workflow.name)
        return json_response(
            {
                "workflow": workflow.name,
                "newest": listed[-1].version,
                "versions": [
                    {
                        "version": w.version,
                        "fingerprint": w.fingerprint,
                        "unfinished_runs": counts.get(w.version, 0),
                    }
                    for w in listed
                ],
                # Runs pinned to a version this app does not serve any more (or to none, from before
                # versions were recorded): they fail, or run on the newest, respectively.
                "unfinished_runs_elsewhere": {
                    str(v): n
                    for v, n in counts.items()
                    if v is None or self.versions.labelled(workflow.name, v) is None
                },
            }
        )

    async def list_runs(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """``GET /api/workflows/{name}/runs?status=&top=&skip=``: recent runs of one workflow."""
        return await self._runs_page(req, client, {self._workflow(req).name})

    async def list_all_runs(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        """``GET /api/runs?workflow=&status=&top=&skip=``: recent runs of every workflow of this app."""
        name = req.params.get("workflow") or None
        if name is not None and name not in self.workflows:
            raise HttpError(404, f"unknown workflow {name!r}", field="workflow", known=sorted(self.workflows))
        return await self._runs_page(req, client, {name} if name else set(self.workflows))

    async def _runs_page(
        self, req: func.HttpRequest, client: DurableClient, names: set[str]
    ) -> func.HttpResponse:
        wanted = [s.strip().lower() for s in req.params.get("status", "").split(",") if s.strip()]
        bad = next((s for s in wanted if s not in RUNTIME_STATUSES), None)
        if bad is not None:
            allowed = sorted(RUNTIME_STATUSES.values())
            raise HttpError(400, f"unknown status {bad!r}", field="status", allowed=allowed)
        top = _int_param(req, "top", default=50, low=1, high=1000)
        skip = _int_param(req, "skip", default=0, low=0, high=1_000_000)
        statuses = await all_instances(client, [RUNTIME_STATUSES[s] for s in wanted])
        search = req.params.get("search", "").strip().lower()
        ours = [s for s in statuses if s.name in names and search in (s.instance_id or "").lower()]
        ours.sort(key=lambda s: (s.created or datetime.min.replace(tzinfo=UTC), s.instance_id), reverse=True)
        runs = []
        for status in ours[skip : skip + top]:
            summary = run_summary(status)
            summary["runUri"] = self._run_uri(req, self.workflows[status.name], status.instance_id)
            runs.append(summary)
        return json_response({"runs": runs, "total": len(ours), "skip": skip, "top": top})

    async def approve(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        workflow, status, request_id = await self._open_run(req, client)
        instance_id = status.instance_id
        settings = engine_settings()
        token = req.params.get("token")
        read = await self._read(workflow, client, instance_id)
        claims = None
        if settings.require_approval_token or token:
            try:
                claims = verify(
                    SigningKeys.for_links(),
                    token,
                    instance_id=instance_id,
                    run_nonce=read.run_nonce,
                    request_id=request_id,
                    now=datetime.now(UTC),
                )
            except TokenError as exc:
                raise HttpError(403, str(exc)) from exc
        folded = read.folded
        try:
            pending, waiting, _ = await self._pending_in(client, status, read, request_id)
        except HttpError as refused:
            # Replay protection that holds across restarts and instances: the histories say which link
            # an answer came through (a link names its one request, so only a closed request's can be used).
            if claims is not None and refused.status == 409 and read.version_problem is None:
                closed = list(folded.closed_approvals) if folded is not None else []
                held = await self.partition_reads.holding(client, folded, request_id)
                if any(c.link == claims.n for c in closed + (held.closed if held is not None else [])):
                    raise HttpError(403, "this approval link has already been used") from None
            raise
        assert folded is not None  # a pending approval comes from a fold
        approval = folded.workflow.approval(pending.approval_id)
        caller = await self._caller(req, claims.sub if claims else None)
        if not self._may_answer(caller)(pending):
            if caller.name is None:
                raise HttpError(
                    401,
                    f"approval {approval.id!r} is for {approval.approvers}: answer it with your identity "
                    "(Easy Auth, an Entra ID bearer token, or a respond link issued to you)",
                )
            raise HttpError(
                403, f"{caller.name} may not answer approval {approval.id!r}: it is for {approval.approvers}"
            )
        body = read_json(req, limit=settings.max_body_bytes)
        response = validated(approval.parse_answer, body, f"response for approval {approval.id!r}")
        answer = AnswerEnvelope(
            response=approval.response_adapter.dump_python(response, mode="json"),
            decided_by=caller.name,
            via="endpoint",
            at=datetime.now(UTC).isoformat(),
            answer_id=uuid.uuid4().hex,
            link=claims.n if claims else None,
        )
        # Signed for the run (a partition verifies it as the run would), raised where the answer is awaited.
        event = self._event_body(
            approval,
            Binding(instance_id=instance_id, request_id=request_id, run_nonce=read.run_nonce),
            answer,
        )
        if pending.event_name == ANSWERS_EVENT:  # a map partition takes every answer on one event, by request
            event = PartitionAnswer(request_id=request_id, answer=event).model_dump(mode="json")
        try:
            await client.raise_event(waiting, pending.event_name, event)
        except RefusedByBackend as exc:
            # A run finishing (terminated, timed out) while the answer was on its way.
            latest = await client.status(instance_id)
            if latest is None or latest.finished:
                ended = latest.runtime if latest is not None else "purged"
                raise HttpError(410, f"run {instance_id!r} has finished ({ended})") from exc
            raise
        taken = await self._taken(workflow, client, instance_id, request_id, answer.answer_id, waiting)
        if taken is False:
            raise HttpError(409, f"another answer to approval request {request_id!r} was taken first")
        run_uri = self._run_uri(req, workflow, instance_id)
        return json_response(
            {
                "accepted": True,
                # True: this answer decided the approval; None: not taken in yet (see waitUri).
                "taken": taken,
                "answerId": answer.answer_id,
                "requestId": request_id,
                "instanceId": instance_id,
                "decidedBy": caller.name,
                # The run view once this answer has been taken in (or the run has finished).
                "waitUri": f"{run_uri}?wait=30&answered={request_id}",
            },
            status=202,
        )

    @staticmethod
    def _event_body(approval: Approval[Any, Any], binding: Binding, answer: AnswerEnvelope) -> Any:
        """The signed envelope; without a signing key, a raw answer (which carries no identity)."""
        try:
            return signed_envelope(SigningKeys.from_env(), binding, answer)
        except LookupError as exc:
            if approval.approvers:
                raise HttpError(
                    503,
                    f"approval {approval.id!r} is limited to named approvers, and answers to it must be "
                    "signed: set the APPROVAL_SIGNING_KEY app setting",
                ) from exc
            return answer.response

    async def _taken(
        self,
        workflow: Workflow,
        client: DurableClient,
        instance_id: str,
        request_id: str,
        answer_id: str,
        waiting: str,
    ) -> bool | None:
        """Whether the run (or the partition ``waiting`` for the answer) took this answer (True), another
        one (False), or none yet (None) within a short wait: concurrent answers learn which one decided."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ANSWER_WAIT_SECONDS
        seen: Any = None
        folded_at = -1.0
        while True:
            # A history is read (and folded) once the instance awaiting the answer shows a change, or a
            # second after the last read: a host's update time may be kept to the second.
            latest = await client.status(waiting)
            mark = (latest.updated, str(latest.custom_status)) if latest is not None else None
            if mark != seen or loop.time() - folded_at >= 1.0:
                seen, folded_at = mark, loop.time()
                folded = (await self._read(workflow, client, instance_id)).folded
                closed = list(folded.closed_approvals) if folded is not None else []
                if waiting != instance_id:
                    held = await self.partition_reads.holding(client, folded, request_id)
                    closed += held.closed if held is not None else []
                    in_loop = await self.loop_reads.holding(client, folded, request_id)
                    closed += in_loop.closed if in_loop is not None else []
                found = next((c for c in closed if c.request_id == request_id), None)
                if found is not None:
                    return found.answer_id == answer_id
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(WAIT_POLL_SECONDS / 2)

    async def terminate(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        workflow, status = await self._run_status(req, client)
        if status.runtime in FINISHED:
            raise HttpError(410, f"run {status.instance_id!r} has finished ({status.runtime})")
        reason = self._reason(req) or "terminated through the workflow API"
        folded = (await self._read(workflow, client, status.instance_id)).folded
        await client.terminate(status.instance_id, reason)
        # Durable Functions leaves a terminated run's sub-orchestrations running: its sub-workflow runs go
        # with it, so no one answers an approval for a run that no longer exists.
        await self._terminate_children(client, folded, f"its parent run {status.instance_id} was terminated")
        for partition in await self.partition_reads.unfinished(client, folded):
            await client.terminate(partition, f"its run {status.instance_id} was terminated")
        for loop in await self.loop_reads.unfinished(client, folded):
            await client.terminate(loop, f"its run {status.instance_id} was terminated")
        run_uri = self._run_uri(req, workflow, status.instance_id)
        return json_response(
            {
                "accepted": True,
                "instanceId": status.instance_id,
                "waitUri": f"{run_uri}?wait=30&until=finished",
            },
            status=202,
        )

    @staticmethod
    def _reason(req: func.HttpRequest) -> str | None:
        """The optional ``{"reason": "..."}`` of terminate and rewind, validated strictly."""
        body = read_json(req, required=False, limit=engine_settings().max_body_bytes)
        if body is None:
            return None
        return validated(ReasonBody.model_validate, body, "body").reason

    async def _terminate_children(
        self, client: DurableClient, folded: RunSnapshot | None, reason: str, depth: int = 0
    ) -> None:
        async for instance_id, _, _, read in self._child_reads(client, folded, depth):
            if read is None:
                continue  # finished already
            await client.terminate(instance_id, reason)
            await self._terminate_children(client, read.folded, reason, depth + 1)

    async def rewind(self, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
        workflow, status = await self._run_status(req, client)
        runtime = status.runtime
        if runtime != "Failed":
            code = 410 if runtime in FINISHED else 409
            message = f"run {status.instance_id!r} is {runtime}: only a failed run can be rewound"
            raise HttpError(code, message)
        read = await self._read(workflow, client, status.instance_id)
        if read.version_problem is not None:
            # Rewound now, it would fail again at once: the graph it started on must be deployed first.
            raise HttpError(409, f"deploy the run's version before rewinding it: {read.version_problem}")
        reason = self._reason(req) or "rewound through the workflow API"
        try:
            await client.rewind(status.instance_id, reason)
        except RefusedByBackend as exc:
            # The host refused (a sub-orchestration of the run that is still running, or the run moved on
            # meanwhile), with its reason.
            raise HttpError(409, f"run {status.instance_id!r} cannot be rewound: {exc}") from exc
        run_uri = self._run_uri(req, workflow, status.instance_id)
        return json_response(
            {
                "accepted": True,
                "instanceId": status.instance_id,
                "waitUri": f"{run_uri}?wait=30&until=finished",
            },
            status=202,
        )

    async def openapi(self, req: func.HttpRequest, client: Any) -> func.HttpResponse:
        return json_response(
            openapi_document(
                list(self.workflows.values()), _api_base(req, self.route_prefix), self.route_prefix
            )
        )

    async def dashboard(self, req: func.HttpRequest, client: Any) -> func.HttpResponse:
        return serve_dashboard(req, api_route=self.route_prefix)


def _int_param(req: func.HttpRequest, name: str, *, default: int, low: int, high: int) -> int:
    raw = req.params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HttpError(400, f"{name} must be a whole number", field=name) from None
    if not low <= value <= high:
        raise HttpError(400, f"{name} must be between {low} and {high}", field=name)
    return value


def _choice(req: func.HttpRequest, name: str, allowed: tuple[str, ...]) -> str:
    """A query parameter with a fixed set of values; the first is the default."""
    raw = req.params.get(name) or allowed[0]
    if raw not in allowed:
        raise HttpError(400, f"{name} must be one of {', '.join(allowed)}", field=name, allowed=list(allowed))
    return raw


def _without_key(url: str) -> str:
    """A management URL without the host's system key (``code=``): only operators should hold that."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    kept = [p for p in query.split("&") if not p.lower().startswith("code=")]
    return f"{base}?{'&'.join(kept)}" if kept else base


def _api_base(req: func.HttpRequest, prefix: str) -> str:
    """``scheme://host/api`` of the app's public origin, with the host's route prefix this request
    came through (so links work under any route prefix)."""
    url = rebased(req.url, public_origin(req)).split("?", 1)[0].rstrip("/")
    for tail in ("/openapi.json", "/runs"):
        if url.endswith(tail) and f"/{prefix}/" not in url:
            return url[: -len(tail)]
    head, sep, _ = url.partition(f"/{prefix}")
    return head if sep else url.rsplit("/", 1)[0]
