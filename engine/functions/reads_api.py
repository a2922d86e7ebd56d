"""The read handlers: the workflows, a run's view (``?wait=``, ``?timeline=``), its event feed, lists of runs
and versions, the OpenAPI document and the dashboard. Each reads the run it names once (``run_reads``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from engine.core.graph import Workflow
from engine.core.run_state import ClosedApproval
from engine.core.viz import to_graph_json
from engine.durable.admission import started_input
from engine.durable.client import DurableClient, all_instances
from engine.durable.phase import RUNTIME_STATUSES as ALL_RUNTIME_STATUSES
from engine.durable.phase import UNFINISHED
from engine.durable.run_snapshot import RunSnapshot
from engine.functions.answer_rights import viewer_may_answer
from engine.functions.dashboard import serve as serve_dashboard
from engine.functions.feed import Feed, after, child_approvals, parse_cursor, run_events, running_steps
from engine.functions.http_json import HttpError, check_instance_id, json_response
from engine.functions.http_params import api_base, choice, int_param
from engine.functions.loop_reads import FinishedLoops, loop_owner
from engine.functions.loop_rows import feed_events, timeline_rows
from engine.functions.map_progress import step_items
from engine.functions.openapi import openapi_document
from engine.functions.partition_reads import entry_owner
from engine.functions.run_reads import RunRead, Wait
from engine.functions.run_view import (
    CLOSED_SHOWN,
    Page,
    approval_entry,
    approval_ids,
    pending_approvals,
    run_summary,
    run_view,
)
from engine.functions.settings import host_checks_keys
from engine.functions.stream_feed import streaming_events
from engine.functions.timeline import run_timeline
from engine.functions.workflow_api import WorkflowApi

MAX_CHILDREN_LISTED = 100  # child runs a view reads (childrenTotal counts them all)
RUNTIME_STATUSES = {s.lower(): s for s in ALL_RUNTIME_STATUSES}  # as ?status= names them, any case
MAX_WAIT_SECONDS = 60
FEED_PAGE = 1_000  # events one feed answer gives unless ?limit= says otherwise
MAX_FEED_PAGE = 10_000
FEED_POLL_SECONDS = 0.25


async def list_workflows(api: WorkflowApi, req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """``GET /api/workflows``: every workflow the app serves (its newest version), with its graph."""
    return json_response({"workflows": [_workflow_entry(api, req, wf) for wf in api.workflows.values()]})


def _workflow_entry(api: WorkflowApi, req: func.HttpRequest, wf: Workflow) -> dict[str, Any]:
    return {
        "name": wf.name,
        "version": wf.version,
        "fingerprint": wf.fingerprint,
        "versions": [w.version for w in api.versions.versions(wf.name)],
        "description": wf.description,
        "start": wf.start,
        "input_schema": wf.input_schema(),
        "mermaid": wf.to_mermaid(),
        "graph": to_graph_json(wf),
        "approvals": [
            {"id": a.id, "description": a.description, "response_schema": a.response_schema()}
            for a in wf.every_approval()  # agents' questions before a tool too
        ],
        "start_uri": f"{api.base(req)}/{wf.name}",
    }


def _instance_id(req: func.HttpRequest) -> str:
    return check_instance_id(req.route_params.get("instanceId", ""))


async def get_run(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``GET .../runs/{instanceId}``: the run's view, from its history (after ``?wait=``, when asked)."""
    workflow = api.workflow(req)
    wait = Wait(
        seconds=int_param(req, "wait", default=0, low=0, high=MAX_WAIT_SECONDS),
        until=choice(req, "until", ("settled", "finished")),
        answered=frozenset(r for r in req.params.get("answered", "").split(",") if r),
    )
    page = Page(
        skip=int_param(req, "approvals_skip", default=0, low=0, high=10_000_000),
        top=int_param(req, "approvals_top", default=100, low=1, high=1000),
    )
    timeline = choice(req, "timeline", ("false", "true")) == "true"
    instance_id = _instance_id(req)
    if wait.seconds:
        status = await api.runs.status_of(workflow, instance_id, client)
        await api.runs.settled(workflow, client, status, wait)
    read = await api.runs.named(workflow, instance_id, client)
    view = await _view(api, req, client, workflow, read, page)
    if timeline:
        view["timeline"] = await _timeline(api, client, read)
    return json_response(view)


async def _view(
    api: WorkflowApi,
    req: func.HttpRequest,
    client: DurableClient,
    workflow: Workflow,
    read: RunRead,
    page: Page,
) -> dict[str, Any]:
    """The run's view: its own, then what its sub-workflow runs and its map partitions ask of people."""
    snapshot = read.snapshot
    instance_id = read.status.instance_id
    run_uri = api.run_uri(req, workflow.name, instance_id)
    graph = snapshot.workflow if snapshot is not None else workflow  # the run's own version
    may_answer = await viewer_may_answer(req, instance_id, read.run_nonce)
    view = run_view(graph, read.status, snapshot, run_uri, may_answer, page, read.events, api.activity_name)
    view["versionProblem"] = read.version_problem
    children, asked = await _children(api, req, client, snapshot, depth=0)
    view["children"] = children
    view["childrenTotal"] = snapshot.children_total if snapshot is not None else 0
    # An approval inside a sub-workflow is the parent's to see and answer too (through the child's
    # route, where its respond link points).
    view["pendingApprovals"] += asked
    view["pendingApprovalsTotal"] += len(asked)
    if not read.finished:
        # A map's approvals asked in partitions come after the run's own, on the same pages.
        own = view["pendingApprovalsTotal"]
        listed, total = await api.partition_reads.page(
            client, snapshot, max(0, page.skip - own), page.top - len(view["pendingApprovals"])
        )
        view["pendingApprovals"] += [
            {**approval_entry(graph, p, run_uri, may_answer), **entry_owner(a.instance_id)} for a, p in listed
        ]
        view["pendingApprovalsTotal"] += total
    if not read.finished:
        # People asked by agent steps before a tool (in the steps' own orchestrations).
        for loop, p in await api.loop_reads.pending(client, snapshot):
            asked.append({**approval_entry(graph, p, run_uri, may_answer), **loop_owner(loop)})
            view["pendingApprovals"].append(asked[-1])
            view["pendingApprovalsTotal"] += 1
            view["executors"][graph.approval_owner(p.approval_id)] = "waiting"
    if asked and view["phase"] == "running":
        view["phase"] = "waiting_for_approval"  # a person is asked, inside a sub-workflow or an agent step
    _add_closed(view, await api.loop_reads.closed(client, snapshot))
    return view


def _add_closed(view: dict[str, Any], questions: list[ClosedApproval]) -> None:
    """The questions agent steps asked that closed, among the run's closed approvals (the newest shown)."""
    if not questions:
        return
    shown = {c["request_id"] for c in view["closedApprovals"]}
    added = [q.model_dump(mode="json") for q in questions if q.request_id not in shown]
    merged = sorted(view["closedApprovals"] + added, key=lambda c: c["at"])
    view["closedApprovals"] = merged[-CLOSED_SHOWN:]
    view["closedApprovalsTotal"] += len(added)


async def _timeline(api: WorkflowApi, client: DurableClient, read: RunRead) -> dict[str, Any]:
    snapshot = read.snapshot
    partition_steps, not_listed = await api.partition_reads.step_rows(client, snapshot)
    return run_timeline(
        read.events,
        api.activity_name,
        requests=snapshot.requests if snapshot is not None else None,
        closed=snapshot.closed_approvals if snapshot is not None else (),
        approval_ids=approval_ids(snapshot),
        items=step_items(snapshot),
        partition_steps=partition_steps,
        partitions_not_listed=not_listed,
        loop_rows=timeline_rows(
            await api.loop_reads.all(client, snapshot, in_partitions=True), read.status.instance_id, None
        ),
    ).model_dump(mode="json")


async def _children(
    api: WorkflowApi,
    req: func.HttpRequest,
    client: DurableClient,
    snapshot: RunSnapshot | None,
    *,
    depth: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The sub-workflow runs the fold saw this run start, and their (and their children's) open
    approvals, each naming the run it belongs to."""
    children: list[dict[str, Any]] = []
    asked: list[dict[str, Any]] = []
    base = api.base(req)
    # Each child costs a status read (and a fold while it runs): a view lists the first ones only.
    async for instance_id, name, runtime, read in api.runs.child_reads(
        client, snapshot, depth, MAX_CHILDREN_LISTED
    ):
        uri = f"{base}/{name}/runs/{instance_id}"
        pending = pending_approvals(runtime, read.snapshot) if read is not None else []
        if read is not None and read.snapshot is not None:
            may_answer = await viewer_may_answer(req, instance_id, read.run_nonce)
            graph = read.snapshot.workflow
            for p in pending:
                entry = approval_entry(graph, p, uri, may_answer)
                owner = {"workflow": name, "instanceId": instance_id, "runUri": uri}
                asked.append({**entry, "run": owner})
            asked += (await _children(api, req, client, read.snapshot, depth=depth + 1))[1]
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


async def get_events(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``GET .../runs/{instanceId}/events``: the run's event feed, after a cursor (long-polled)."""
    workflow = api.workflow(req)
    cursor = req.params.get("after") or None
    if cursor is not None and parse_cursor(cursor) is None:
        raise HttpError(400, f"{cursor!r} is not a cursor of this feed", field="after")
    wait = int_param(req, "wait", default=0, low=0, high=MAX_WAIT_SECONDS)
    limit = int_param(req, "limit", default=FEED_PAGE, low=1, high=MAX_FEED_PAGE)
    latest = choice(req, "latest", ("false", "true")) == "true"
    instance_id = _instance_id(req)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    read = await api.runs.named(workflow, instance_id, client)
    finished_loops = FinishedLoops()  # read once per request, not once per poll
    while True:
        runtime = read.status.runtime
        events = run_events(read.snapshot, read.events, runtime)
        # The calls of its agent steps, its partitions' too (only partitions that ran an agent are folded).
        loops = await api.loop_reads.all(client, read.snapshot, in_partitions=True, finished=finished_loops)
        events += feed_events(loops, instance_id)
        if not read.finished:
            events += await streaming_events(
                instance_id, read.run_nonce, running_steps(read.snapshot, runtime)
            )
            events += child_approvals((await _children(api, req, client, read.snapshot, depth=0))[1])
        events.sort(key=lambda e: (e.at, e.cursor.partition("|")[2]))
        fresh = after(events, cursor)
        if latest:
            fresh = fresh[-1:]
        if fresh or read.finished or loop.time() >= deadline:
            break
        await asyncio.sleep(FEED_POLL_SECONDS)
        read = await api.runs.read(workflow, client, instance_id)
    page, more = fresh[:limit], len(fresh) > limit
    feed = Feed(
        events=page,
        cursor=page[-1].cursor if page else cursor,
        running=running_steps(read.snapshot, runtime),
        more=more,
        finished=read.finished and not more,
    )
    return json_response(feed.model_dump(mode="json"))


async def list_versions(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """Every version of a workflow this app serves, with its unfinished runs: an old version can go once
    none is left."""
    workflow = api.workflow(req)
    unfinished = await all_instances(client, UNFINISHED, with_input=True)
    counts: dict[str | None, int] = {}
    for status in unfinished:
        if status.name == workflow.name:
            started = started_input(status.input)
            counts[started.version] = counts.get(started.version, 0) + 1
    listed = api.versions.versions(workflow.name)
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
            # Runs pinned to a version this app does not serve any more (or to none, from before versions
            # were recorded): they fail, or run on the newest, respectively.
            "unfinished_runs_elsewhere": {
                str(v): n
                for v, n in counts.items()
                if v is None or api.versions.labelled(workflow.name, v) is None
            },
        }
    )


async def list_runs(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``GET /api/workflows/{name}/runs?status=&top=&skip=``: recent runs of one workflow."""
    return await _runs_page(api, req, client, {api.workflow(req).name})


async def list_all_runs(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``GET /api/runs?workflow=&status=&top=&skip=``: recent runs of every workflow of this app."""
    name = req.params.get("workflow") or None
    if name is not None and name not in api.workflows:
        raise HttpError(404, f"unknown workflow {name!r}", field="workflow", known=sorted(api.workflows))
    return await _runs_page(api, req, client, {name} if name else set(api.workflows))


async def _runs_page(
    api: WorkflowApi, req: func.HttpRequest, client: DurableClient, names: set[str]
) -> func.HttpResponse:
    wanted = [s.strip().lower() for s in req.params.get("status", "").split(",") if s.strip()]
    bad = next((s for s in wanted if s not in RUNTIME_STATUSES), None)
    if bad is not None:
        allowed = sorted(RUNTIME_STATUSES.values())
        raise HttpError(400, f"unknown status {bad!r}", field="status", allowed=allowed)
    top = int_param(req, "top", default=50, low=1, high=1000)
    skip = int_param(req, "skip", default=0, low=0, high=1_000_000)
    statuses = await all_instances(client, [RUNTIME_STATUSES[s] for s in wanted])
    search = req.params.get("search", "").strip().lower()
    ours = [s for s in statuses if s.name in names and search in (s.instance_id or "").lower()]
    ours.sort(key=lambda s: (s.created or datetime.min.replace(tzinfo=UTC), s.instance_id), reverse=True)
    runs = []
    for status in ours[skip : skip + top]:
        summary = run_summary(status)
        summary["runUri"] = api.run_uri(req, status.name, status.instance_id)
        runs.append(summary)
    return json_response({"runs": runs, "total": len(ours), "skip": skip, "top": top})


async def openapi(api: WorkflowApi, req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """``GET /api/openapi.json``: the route table as OpenAPI 3.1, with each workflow's schemas."""
    return json_response(
        openapi_document(
            api.routes,
            api.versions,
            api_base(req, api.route_prefix),
            api.route_prefix,
            keys_checked=host_checks_keys(),
            anonymous_api=api.anonymous_api,
        )
    )


async def dashboard(api: WorkflowApi, req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """The dashboard's static files."""
    return serve_dashboard(req, api_route=api.route_prefix)


__all__ = [
    "dashboard",
    "get_events",
    "get_run",
    "list_all_runs",
    "list_runs",
    "list_versions",
    "list_workflows",
    "openapi",
]
