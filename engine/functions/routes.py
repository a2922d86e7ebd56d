"""THE route table of the workflow HTTP API: ``WorkflowApp`` registers from it, the request checks
validate from it (``request_checks.py``), OpenAPI documents it. Each route names the function that
answers it: reads (``reads_api``), approvals (``approvals_api``), a run's lifecycle (``lifecycle_api``),
streams (``stream_api``), purging a run (``purge_api``).

Paths are relative to the host's route prefix (``/api``); ``{prefix}`` is the workflow API's own route
(``workflows``). A route marked ``per_workflow`` is documented once per workflow, with that workflow's
input or approval schemas. ``responses`` lists what the handler answers; ``statuses`` adds what every
route of its kind can answer (the host's key check, the cross-origin refusal, the body limit, a bug).
"""

from __future__ import annotations

from engine.functions import approvals_api, lifecycle_api, purge_api, reads_api, stream_api
from engine.functions.api_models import (
    AnswerAccepted,
    IssuedLink,
    RunAccepted,
    RunPurged,
    StartedRun,
    VersionList,
    WorkflowList,
)
from engine.functions.dashboard import CONTENT_TYPES
from engine.functions.feed import Feed
from engine.functions.http_json import NEW_INSTANCE_ID_PATTERN
from engine.functions.route_model import (
    TOKEN,
    Param,
    Route,
    bool_schema,
    enum_schema,
    int_schema,
    pattern_schema,
)
from engine.functions.stream_api import MAX_OFFSET, MAX_STREAM_WAIT, StreamAnswer
from engine.functions.view_models import PendingApprovalEntry, RunsPage, RunView

RUN_FILTERS = (
    Param("status", "query", {"type": "string"}, "runtime statuses, comma-separated (Running,Completed)"),
    Param("top", "query", int_schema(1, 1000), "page size (default 50)"),
    Param("skip", "query", int_schema(0, 1_000_000), "runs to skip (default 0)"),
    Param("search", "query", {"type": "string"}, "only runs whose instance id contains this (any case)"),
)
RUN = "{prefix}/{name}/runs/{instanceId}"
STREAM_PARAMS = (
    Param("step", "path", {"type": "string"}, "the step's id", required=True),
    Param("after", "query", int_schema(0, MAX_OFFSET), "an offset: only the chunks after it (default 0)"),
    Param("attempt", "query", int_schema(1, MAX_OFFSET), "the attempt read so far: told if a newer began"),
)
DASHBOARD_TYPES = tuple(dict.fromkeys(t.split(";")[0] for t in CONTENT_TYPES.values()))

ROUTES: tuple[Route, ...] = (
    Route(
        "workflows_list",
        "{prefix}",
        "GET",
        reads_api.list_workflows,
        "Every workflow: name, description, input schema, graph",
        {200: "the workflows"},
        durable_client=False,
        response=WorkflowList,
    ),
    Route(
        "workflow_start",
        "{prefix}/{name}",
        "POST",
        lifecycle_api.start_run,
        "Start a run",
        {
            202: "started: the run's links",
            400: "invalid input or instanceId (field errors)",
            404: "unknown workflow or version",
            409: "id in use",
        },
        params=(
            Param(
                "instanceId",
                "query",
                pattern_schema(NEW_INSTANCE_ID_PATTERN),
                "choose the run's instance id (':' is kept for a run's sub-workflow runs and partitions)",
            ),
            Param("version", "query", {"type": "string"}, "start on this version (default: the newest)"),
        ),
        body="input",
        per_workflow=True,
        response=StartedRun,
        headers=("Location", "Retry-After"),
    ),
    Route(
        "workflow_versions",
        "{prefix}/{name}/versions",
        "GET",
        reads_api.list_versions,
        "The versions of this workflow the app serves, each with its unfinished runs",
        {200: "the versions, oldest first", 404: "unknown workflow"},
        per_workflow=True,
        response=VersionList,
    ),
    Route(
        "workflow_runs",
        "{prefix}/{name}/runs",
        "GET",
        reads_api.list_runs,
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
        reads_api.get_run,
        "The workflow view of a run: phase, input, executors, pending and closed approvals, outputs",
        {200: "the run view", 400: "invalid instanceId or parameter", 404: "unknown run"},
        params=(
            Param(
                "wait",
                "query",
                int_schema(0, 60),
                "seconds to wait until the run is finished or waits for a person",
            ),
            Param(
                "until",
                "query",
                enum_schema("settled", "finished"),
                "with wait: settled (default: finished, or waiting for a person) or finished",
            ),
            Param(
                "answered",
                "query",
                {"type": "string"},
                "with wait: request ids answered (comma-separated): wait until none of them is open",
            ),
            Param("timeline", "query", bool_schema(), "true to add the timeline of steps, timers and events"),
            Param(
                "approvals_skip", "query", int_schema(0, 10_000_000), "pending approvals to skip (default 0)"
            ),
            Param("approvals_top", "query", int_schema(1, 1000), "pending approvals listed (default 100)"),
            TOKEN,
        ),
        per_workflow=True,
        response=RunView,
    ),
    Route(
        "workflow_run_events",
        RUN + "/events",
        "GET",
        reads_api.get_events,
        "The run's events in order (every execution, from durable data), each with a cursor: ?after= gives "
        "the newer ones, at most ?limit= a page (more says another page follows at once), ?wait= "
        "long-polls for them, ?latest=true gives only the newest (a cursor to follow from)",
        {
            200: "the events after the cursor, and the steps running now",
            400: "invalid instanceId, cursor, wait, limit or latest",
            404: "unknown run",
        },
        params=(
            Param("after", "query", {"type": "string"}, "a cursor from an earlier answer: only newer events"),
            Param("wait", "query", int_schema(0, 60), "seconds to wait for a newer event (or the run's end)"),
            Param(
                "limit", "query", int_schema(1, 10_000), "the most events one answer gives (default 1,000)"
            ),
            Param("latest", "query", bool_schema(), "true: only the newest event, to follow from"),
        ),
        per_workflow=True,
        response=Feed,
    ),
    Route(
        "workflow_step_stream",
        RUN + "/steps/{step}/stream",
        "GET",
        stream_api.get_stream,
        "What an agent step writes as it writes it: its newest attempt's chunks after ?after= (long-polled "
        "up to ?wait=); pass back the attempt and next you were given",
        {
            200: "the chunks after the offset",
            400: "invalid instanceId, after, wait or attempt",
            404: "unknown run or step",
        },
        params=(
            *STREAM_PARAMS,
            Param("wait", "query", int_schema(0, MAX_STREAM_WAIT), "seconds to wait for a chunk"),
        ),
        per_workflow=True,
        response=StreamAnswer,
    ),
    Route(
        "workflow_step_stream_sse",
        RUN + "/steps/{step}/stream/sse",
        "GET",
        stream_api.get_stream_sse,
        "The same chunks as Server-Sent Events (event chunk, id ATTEMPT:OFFSET; attempt; done), resumed "
        "after Last-Event-ID. Where the hosting can stream (engine serve, Functions HTTP streams) the answer "
        "stays open, each chunk sent as it commits and a comment every 10 s, until done or ?wait= is over; "
        "elsewhere it ends once it holds chunks. Either way an EventSource asks again (retry: 250)",
        {
            200: "the events after the offset",
            400: "invalid instanceId, after, wait, attempt or Last-Event-ID",
            404: "unknown run or step",
        },
        params=(
            *STREAM_PARAMS,
            Param(
                "wait",
                "query",
                int_schema(0, MAX_STREAM_WAIT),
                "seconds to wait for a chunk, or to stay open where the hosting can stream (default 25)",
            ),
        ),
        per_workflow=True,
        content_types=("text/event-stream",),
    ),
    Route(
        "workflow_approval",
        RUN + "/approvals/{requestId}",
        "GET",
        approvals_api.get_approval,
        "One pending approval request of a run",
        {
            200: "the pending approval",
            400: "invalid instanceId",
            404: "unknown run or request",
            409: "already answered or timed out, or the run's version is not served here",
            410: "run finished",
        },
        params=(TOKEN,),
        per_workflow=True,
        response=PendingApprovalEntry,
    ),
    Route(
        "workflow_approve",
        RUN + "/approvals/{requestId}",
        "POST",
        approvals_api.approve,
        "Answer a pending approval (validated strictly against its response schema)",
        {
            202: "answer delivered",
            400: "invalid answer (field errors) or instanceId",
            401: "the approval is for named approvers: answer with your identity",
            403: "not allowed: the link's token, or you are not one of its approvers",
            404: "unknown run or request",
            409: "already answered or timed out, or another answer was taken first",
            410: "run finished",
            503: "answers to approvals with named approvers must be signed: no signing key is set",
        },
        params=(Param("token", "query", {"type": "string"}, "the signed token of the respond link"),),
        body="approval",
        per_workflow=True,
        response=AnswerAccepted,
    ),
    Route(
        "workflow_approval_link",
        RUN + "/approvals/{requestId}/links",
        "POST",
        approvals_api.issue_link,
        "Issue a respond link for one person (for a notification): its token names them. Admin level: "
        "the master key on Azure and under devhost --require-keys",
        {
            201: "the link",
            400: "invalid body or instanceId, or a person who could not answer",
            404: "unknown run or request",
            409: "already answered or timed out, or the run's version is not served here",
            410: "run finished",
        },
        body="link",
        per_workflow=True,
        admin=True,
        response=IssuedLink,
    ),
    Route(
        "workflow_terminate",
        RUN + "/terminate",
        "POST",
        lifecycle_api.terminate,
        "Terminate a run",
        {202: "terminating", 400: "invalid body or instanceId", 404: "unknown run", 410: "run finished"},
        body="reason",
        per_workflow=True,
        response=RunAccepted,
    ),
    Route(
        "workflow_rewind",
        RUN + "/rewind",
        "POST",
        lifecycle_api.rewind,
        "Run a failed run again from where it failed (the Durable Functions rewind): the steps that failed "
        "for good run again, everything that succeeded is kept",
        {
            202: "rewinding",
            400: "invalid body or instanceId",
            404: "unknown run",
            409: "the run has not failed, or the version it started on is not served here",
            410: "run completed or terminated",
        },
        body="reason",
        per_workflow=True,
        response=RunAccepted,
    ),
    Route(
        "workflow_run_purge",
        RUN,
        "DELETE",
        purge_api.purge_run,
        "Purge a finished run: its history and its steps' streams, at once",
        {
            200: "purged",
            400: "invalid instanceId",
            404: "unknown run",
            409: "the run has not finished (terminate it first)",
        },
        per_workflow=True,
        response=RunPurged,
    ),
    Route(
        "runs_list",
        "runs",
        "GET",
        reads_api.list_all_runs,
        "Recent runs of every workflow of this app, newest first",
        {200: "a page of runs", 400: "invalid filter", 404: "unknown workflow"},
        params=(Param("workflow", "query", {"type": "string"}, "only runs of this workflow"), *RUN_FILTERS),
        response=RunsPage,
    ),
    Route(
        "workflows_openapi",
        "openapi.json",
        "GET",
        reads_api.openapi,
        "This document",
        {200: "the OpenAPI document"},
        durable_client=False,
    ),
    Route(
        "dashboard",
        "dashboard/{*path}",
        "GET",
        reads_api.dashboard,
        "The dashboard page and its static assets",
        {200: "the page or an asset", 304: "not modified", 308: "redirect to the page", 404: "no such asset"},
        params=(Param("path", "path", {"type": "string"}, "an asset path under the page", required=True),),
        durable_client=False,
        anonymous=True,
        content_types=DASHBOARD_TYPES,
        tags=("dashboard",),
    ),
)
