"""THE route table of the workflow HTTP API: ``WorkflowApp`` registers from it, OpenAPI documents it.

Paths are relative to the host's route prefix (``/api``); ``{prefix}`` is the workflow API's own route
(``workflows``). A route marked ``per_workflow`` is documented once per workflow, with that workflow's
input or approval schemas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from engine.functions.feed import Feed
from engine.functions.view_models import RunsPage, RunView

Body = Literal["none", "input", "approval", "reason", "link"]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    where: Literal["path", "query"]
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    function_name: str
    path: str
    method: Literal["GET", "POST"]
    handler: str  # the name of the WorkflowApp method that answers it
    summary: str
    responses: dict[int, str]
    params: tuple[Param, ...] = ()
    body: Body = "none"
    per_workflow: bool = False
    durable_client: bool = True
    anonymous: bool = False
    admin: bool = False  # the host's master key only (an operator's act, such as issuing a link)
    content_type: str = "application/json"
    tags: tuple[str, ...] = field(default=("workflows",))
    response: type[BaseModel] | None = None  # the 200 answer's shape, for OpenAPI

    def resolved(self, prefix: str) -> str:
        return self.path.replace("{prefix}", prefix)


def _int(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


INSTANCE = Param("instanceId", "path", {"type": "string"}, "the run's instance id", required=True)
REQUEST = Param("requestId", "path", {"type": "string"}, "the approval request id", required=True)
NAME = Param("name", "path", {"type": "string"}, "the workflow name", required=True)
RUN_FILTERS = (
    Param("status", "query", {"type": "string"}, "runtime statuses, comma-separated (Running,Completed)"),
    Param("top", "query", _int(1, 1000), "page size (default 50)"),
    Param("skip", "query", _int(0, 1_000_000), "runs to skip (default 0)"),
    Param("search", "query", {"type": "string"}, "only runs whose instance id contains this (any case)"),
)
RUN = "{prefix}/{name}/runs/{instanceId}"

ROUTES: tuple[Route, ...] = (
    Route(
        "workflows_list",
        "{prefix}",
        "GET",
        "list_workflows",
        "Every workflow: name, description, input schema, graph",
        {200: "the workflows"},
        durable_client=False,
    ),
    Route(
        "workflow_start",
        "{prefix}/{name}",
        "POST",
        "start_run",
        "Start a run",
        {202: "started: the run's links", 400: "invalid input", 404: "unknown workflow", 409: "id in use"},
        params=(
            Param("instanceId", "query", {"type": "string"}, "choose the run's instance id"),
            Param("version", "query", {"type": "string"}, "start on this version (default: the newest)"),
        ),
        body="input",
        per_workflow=True,
    ),
    Route(
        "workflow_versions",
        "{prefix}/{name}/versions",
        "GET",
        "list_versions",
        "The versions of this workflow the app serves, each with its unfinished runs",
        {200: "the versions, oldest first", 404: "unknown workflow"},
        per_workflow=True,
    ),
    Route(
        "workflow_runs",
        "{prefix}/{name}/runs",
        "GET",
        "list_runs",
        "Recent runs of this workflow, newest first",
        {200: "a page of runs", 400: "invalid filter", 404: "unknown workflow"},
        params=RUN_FILTERS,
        per_workflow=True,
        response=RunsPage,
    ),
    Route(
        "workflow_run",
        RUN,
        "GET",
        "get_run",
        "The workflow view of a run: phase, input, executors, pending and closed approvals, outputs",
        {200: "the run view", 400: "invalid parameter", 404: "unknown run"},
        params=(
            Param(
                "wait",
                "query",
                _int(0, 60),
                "seconds to wait until the run is finished or waits for a person",
            ),
            Param(
                "timeline",
                "query",
                {"type": "boolean"},
                "true to add the timeline of steps, timers and events",
            ),
            Param("approvals_skip", "query", _int(0, 10_000_000), "pending approvals to skip (default 0)"),
            Param("approvals_top", "query", _int(1, 1000), "pending approvals listed (default 100)"),
        ),
        per_workflow=True,
        response=RunView,
    ),
    Route(
        "workflow_run_events",
        RUN + "/events",
        "GET",
        "get_events",
        "The run's events in order (every execution, from durable data), each with a cursor: ?after= gives "
        "the newer ones, at most ?limit= a page (more says another page follows at once), ?wait= "
        "long-polls for them, ?latest=true gives only the newest (a cursor to follow from)",
        {
            200: "the events after the cursor, and the steps running now",
            400: "invalid cursor, limit or latest",
            404: "unknown run",
        },
        params=(
            Param("after", "query", {"type": "string"}, "a cursor from an earlier answer: only newer events"),
            Param("wait", "query", _int(0, 60), "seconds to wait for a newer event (or the run's end)"),
            Param("limit", "query", _int(1, 10_000), "the most events one answer gives (default 1,000)"),
            Param("latest", "query", {"type": "boolean"}, "true: only the newest event, to follow from"),
        ),
        per_workflow=True,
        response=Feed,
    ),
    Route(
        "workflow_approval",
        RUN + "/approvals/{requestId}",
        "GET",
        "get_approval",
        "One pending approval request of a run",
        {200: "the pending approval", 404: "unknown request", 409: "already answered or timed out"},
        per_workflow=True,
    ),
    Route(
        "workflow_approve",
        RUN + "/approvals/{requestId}",
        "POST",
        "approve",
        "Answer a pending approval (validated strictly against its response schema)",
        {
            202: "answer delivered",
            400: "invalid answer (field errors)",
            403: "not allowed",
            404: "unknown request",
            409: "already answered or timed out",
            410: "run finished",
        },
        params=(Param("token", "query", {"type": "string"}, "the signed token of the respond link"),),
        body="approval",
        per_workflow=True,
    ),
    Route(
        "workflow_approval_link",
        RUN + "/approvals/{requestId}/links",
        "POST",
        "issue_link",
        "Issue a respond link for one person (for a notification): its token names them. Admin level: "
        "the master key on Azure and under devhost --require-keys",
        {
            201: "the link",
            400: "invalid body, or a person who could not answer",
            404: "unknown request",
            409: "already answered or timed out",
            410: "run finished",
        },
        body="link",
        per_workflow=True,
        admin=True,
    ),
    Route(
        "workflow_terminate",
        RUN + "/terminate",
        "POST",
        "terminate",
        "Terminate a run",
        {202: "terminating", 400: "invalid id", 404: "unknown run", 410: "run finished"},
        body="reason",
        per_workflow=True,
    ),
    Route(
        "workflow_rewind",
        RUN + "/rewind",
        "POST",
        "rewind",
        "Run a failed run again from where it failed (the Durable Functions rewind): the steps that failed "
        "for good run again, everything that succeeded is kept",
        {
            202: "rewinding",
            400: "invalid body",
            404: "unknown run",
            409: "the run has not failed, or the version it started on is not served here",
            410: "run completed or terminated",
        },
        body="reason",
        per_workflow=True,
    ),
    Route(
        "runs_list",
        "runs",
        "GET",
        "list_all_runs",
        "Recent runs of every workflow of this app, newest first",
        {200: "a page of runs", 400: "invalid filter", 404: "unknown workflow"},
        params=(Param("workflow", "query", {"type": "string"}, "only runs of this workflow"), *RUN_FILTERS),
        response=RunsPage,
    ),
    Route(
        "workflows_openapi",
        "openapi.json",
        "GET",
        "openapi",
        "This document",
        {200: "the OpenAPI document"},
        durable_client=False,
    ),
    Route(
        "dashboard",
        "dashboard/{*path}",
        "GET",
        "dashboard",
        "The dashboard page and its static assets",
        {200: "the page or an asset", 304: "not modified", 308: "redirect to the page", 404: "no such asset"},
        params=(Param("path", "path", {"type": "string"}, "an asset path under the page", required=True),),
        durable_client=False,
        anonymous=True,
        content_type="text/html",
        tags=("dashboard",),
    ),
)
