"""The Functions blueprint: one orchestrator per workflow, the step activity, and the workflow HTTP API.

Only documented ``azure-functions`` / ``azure-functions-durable`` decorators are used, so the same app
runs under devhost, ``func start`` and on Azure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import ValidationError

from engine.approval import Approval
from engine.approval_tokens import TokenError, UsedTokens, issue, verify
from engine.dashboard import register_dashboard
from engine.durable import (
    APPROVAL_ENVELOPE,
    DEFAULT_CONTINUE_EVERY,
    STEP_ACTIVITY,
    OrchestratorInput,
    orchestrate,
)
from engine.graph import Workflow
from engine.http_json import HttpError, check_instance_id, field_errors, json_response, read_json
from engine.identity import caller_from, principal_name
from engine.openapi import openapi_document
from engine.run_view import (
    FINISHED,
    history_events,
    run_summary,
    run_timeline,
    run_view,
    runtime_status_name,
)
from engine.settings import engine_settings
from engine.step_activity import run_step
from engine.viz import to_graph_json

RUNTIME_STATUSES = {s.value.lower(): s for s in df.OrchestrationRuntimeStatus}


class WorkflowApp:
    """Everything the Functions app needs for a set of workflows, as a ``df.Blueprint``."""

    def __init__(
        self,
        workflows: Iterable[Workflow],
        *,
        auth_level: func.AuthLevel = func.AuthLevel.FUNCTION,
        route_prefix: str = "workflows",
        activity_name: str = STEP_ACTIVITY,
        continue_every: int = DEFAULT_CONTINUE_EVERY,
    ) -> None:
        self.workflows: dict[str, Workflow] = {}
        for wf in workflows:
            if wf.name in self.workflows:
                raise ValueError(f"two workflows are named {wf.name!r}")
            self.workflows[wf.name] = wf
        self.route_prefix = route_prefix
        self.activity_name = activity_name
        self.continue_every = continue_every
        self.used_tokens = UsedTokens()
        self.blueprint = df.Blueprint(http_auth_level=auth_level)
        self._register_orchestrators()
        self._register_activity()
        self._register_http()

    # --- durable functions -------------------------------------------------------------------------

    def _register_orchestrators(self) -> None:
        for name, workflow in self.workflows.items():
            self._register_orchestrator(name, workflow)

    def _register_orchestrator(self, name: str, workflow: Workflow) -> None:
        activity, every = self.activity_name, self.continue_every

        def orchestrator(context: df.DurableOrchestrationContext) -> Any:
            return (yield from orchestrate(workflow, context, activity=activity, continue_every=every))

        orchestrator.__name__ = name
        bp = self.blueprint
        bp.function_name(name=name)(
            bp.orchestration_trigger(context_name="context", orchestration=name)(orchestrator)
        )

    def _register_activity(self) -> None:
        workflows = self.workflows

        async def step(request: Any) -> dict[str, Any]:
            return await run_step(workflows, request)

        bp = self.blueprint
        bp.function_name(name=self.activity_name)(bp.activity_trigger(input_name="request")(step))

    # --- HTTP API -------------------------------------------------------------------------------------

    def _register_http(self) -> None:
        bp, p = self.blueprint, self.route_prefix
        routes = [
            ("workflows_list", p, "GET", self.list_workflows, False),
            ("workflow_start", f"{p}/{{name}}", "POST", self.start_run, True),
            ("workflow_runs", f"{p}/{{name}}/runs", "GET", self.list_runs, True),
            ("workflow_run", f"{p}/{{name}}/runs/{{instanceId}}", "GET", self.get_run, True),
            (
                "workflow_approve",
                f"{p}/{{name}}/runs/{{instanceId}}/approvals/{{requestId}}",
                "POST",
                self.approve,
                True,
            ),
            (
                "workflow_terminate",
                f"{p}/{{name}}/runs/{{instanceId}}/terminate",
                "POST",
                self.terminate,
                True,
            ),
            ("workflows_openapi", "openapi.json", "GET", self.openapi, False),
            ("runs_list", "runs", "GET", self.list_all_runs, True),
        ]
        for fn_name, route, method, handler, needs_client in routes:
            self._register_route(bp, fn_name, route, method, handler, needs_client)
        register_dashboard(bp, api_route=p)

    @staticmethod
    def _register_route(
        bp: df.Blueprint, fn_name: str, route: str, method: str, handler: Any, client: bool
    ) -> None:
        if client:

            async def endpoint(
                req: func.HttpRequest, client: df.DurableOrchestrationClient
            ) -> func.HttpResponse:
                return await _guarded(handler, req, client)

            wrapped = bp.durable_client_input(client_name="client")(endpoint)
        else:

            async def endpoint_plain(req: func.HttpRequest) -> func.HttpResponse:
                return await _guarded(handler, req, None)

            wrapped = endpoint_plain
        bp.function_name(name=fn_name)(bp.route(route=route, methods=[method])(wrapped))

    def _workflow(self, req: func.HttpRequest) -> Workflow:
        name = req.route_params.get("name", "")
        workflow = self.workflows.get(name)
        if workflow is None:
            raise HttpError(404, f"unknown workflow {name!r}", known=sorted(self.workflows))
        return workflow

    async def list_workflows(self, req: func.HttpRequest, client: Any) -> func.HttpResponse:
        return json_response(
            {
                "workflows": [
                    {
                        "name": wf.name,
                        "description": wf.description,
                        "start": wf.start,
                        "input_schema": wf.input_schema(),
                        "mermaid": wf.to_mermaid(),
                        "graph": to_graph_json(wf),
                        "approvals": [
                            {"id": a.id, "description": a.description, "response_schema": a.response_schema()}
                            for a in wf.approvals()
                        ],
                        "start_uri": f"{_api_base(req, self.route_prefix)}/{self.route_prefix}/{wf.name}",
                    }
                    for wf in self.workflows.values()
                ]
            }
        )

    async def start_run(
        self, req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        workflow = self._workflow(req)
        body = read_json(req, limit=engine_settings().max_body_bytes)
        try:
            message = workflow.validate_input(body)
        except ValidationError as exc:
            raise HttpError(
                400, f"invalid input for workflow {workflow.name!r}", errors=field_errors(exc)
            ) from exc
        instance_id = req.params.get("instanceId")
        if instance_id is not None:
            check_instance_id(instance_id)
            existing = await client.get_status(instance_id)
            if runtime_status_name(existing) is not None:
                raise HttpError(409, f"instance id {instance_id!r} is already in use", field="instanceId")
        payload = OrchestratorInput(input=workflow.start_node.input_adapter.dump_python(message, mode="json"))
        instance_id = await client.start_new(workflow.name, instance_id, payload.model_dump(mode="json"))
        links = client.get_client_response_links(req, instance_id)
        if not engine_settings().expose_system_keys:
            links = {k: _without_key(v) for k, v in links.items()}
        run_uri = (
            f"{_api_base(req, self.route_prefix)}/{self.route_prefix}/{workflow.name}/runs/{instance_id}"
        )
        return json_response(
            {**links, "runUri": run_uri}, status=202, headers={"Location": run_uri, "Retry-After": "2"}
        )

    async def _run_status(
        self, req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> tuple[Workflow, Any]:
        workflow = self._workflow(req)
        instance_id = check_instance_id(req.route_params.get("instanceId", ""))
        status = await client.get_status(instance_id)
        if runtime_status_name(status) is None or status.name != workflow.name:
            raise HttpError(404, f"no run {instance_id!r} of workflow {workflow.name!r}")
        return workflow, status

    async def get_run(
        self, req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        workflow, status = await self._run_status(req, client)
        run_uri = self._run_uri(req, workflow, status.instance_id)
        view = run_view(workflow, status, run_uri, self._signer(req, status.instance_id))
        if req.params.get("timeline", "").lower() in ("1", "true", "yes"):
            full = await client.get_status(
                status.instance_id, show_history=True, show_history_output=True, show_input=True
            )
            view["timeline"] = run_timeline(history_events(full), self.activity_name)
        return json_response(view)

    @staticmethod
    def _signer(req: func.HttpRequest, instance_id: str) -> Callable[[dict[str, Any]], str]:
        """Respond links carry a token for this approval request, issued to the viewer when known."""
        key = engine_settings().signing_key
        viewer = principal_name(req.headers.get("x-ms-client-principal"))

        def sign(entry: dict[str, Any]) -> str:
            deadline = datetime.fromisoformat(entry["deadline"]) if entry.get("deadline") else None
            return issue(
                key,
                instance_id=instance_id,
                request_id=entry["request_id"],
                expires=deadline,
                now=datetime.now(UTC),
                subject=viewer,
            )

        return sign

    def _run_uri(self, req: func.HttpRequest, workflow: Workflow, instance_id: str) -> str:
        return f"{_api_base(req, self.route_prefix)}/{self.route_prefix}/{workflow.name}/runs/{instance_id}"

    async def list_runs(
        self, req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        """``GET /api/workflows/{name}/runs?status=&top=&skip=``: recent runs of one workflow."""
        return await self._runs_page(req, client, {self._workflow(req).name})

    async def list_all_runs(
        self, req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        """``GET /api/runs?workflow=&status=&top=&skip=``: recent runs of every workflow of this app."""
        name = req.params.get("workflow") or None
        if name is not None and name not in self.workflows:
            raise HttpError(404, f"unknown workflow {name!r}", field="workflow", known=sorted(self.workflows))
        return await self._runs_page(req, client, {name} if name else set(self.workflows))

    async def _runs_page(
        self, req: func.HttpRequest, client: df.DurableOrchestrationClient, names: set[str]
    ) -> func.HttpResponse:
        wanted = [s.strip().lower() for s in req.params.get("status", "").split(",") if s.strip()]
        bad = next((s for s in wanted if s not in RUNTIME_STATUSES), None)
        if bad is not None:
            allowed = sorted(s.value for s in RUNTIME_STATUSES.values())
            raise HttpError(400, f"unknown status {bad!r}", field="status", allowed=allowed)
        top = _int_param(req, "top", default=50, low=1, high=1000)
        skip = _int_param(req, "skip", default=0, low=0, high=1_000_000)
        statuses = await (
            client.get_status_by(runtime_status=[RUNTIME_STATUSES[s] for s in wanted])
            if wanted
            else client.get_status_all()
        )
        ours = [s for s in statuses if s.name in names]
        ours.sort(
            key=lambda s: (s.created_time or datetime.min.replace(tzinfo=UTC), s.instance_id), reverse=True
        )
        runs = []
        for status in ours[skip : skip + top]:
            summary = run_summary(status)
            summary["runUri"] = self._run_uri(req, self.workflows[status.name], status.instance_id)
            runs.append(summary)
        return json_response({"runs": runs, "total": len(ours), "skip": skip, "top": top})

    async def approve(
        self, req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        workflow, status = await self._run_status(req, client)
        request_id = req.route_params.get("requestId", "")
        if runtime_status_name(status) in FINISHED:
            raise HttpError(410, f"run {status.instance_id!r} has finished ({runtime_status_name(status)})")
        settings = engine_settings()
        token = req.params.get("token")
        subject = None
        if settings.require_approval_token or token:
            try:
                claims = verify(
                    settings.signing_key,
                    token,
                    instance_id=status.instance_id,
                    request_id=request_id,
                    now=datetime.now(UTC),
                )
            except TokenError as exc:
                raise HttpError(403, str(exc)) from exc
            if self.used_tokens.was_used(token or ""):
                raise HttpError(403, "this approval link has already been used")
            subject = claims.sub
        custom = status.custom_status if isinstance(status.custom_status, dict) else {}
        pending = next((a for a in custom.get("approvals") or [] if a.get("request_id") == request_id), None)
        if pending is None:
            if any(c.get("request_id") == request_id for c in custom.get("closed_approvals") or []):
                raise HttpError(
                    409, f"approval request {request_id!r} has already been answered or timed out"
                )
            raise HttpError(404, f"no pending approval request {request_id!r} in run {status.instance_id!r}")
        approval = workflow.nodes[pending["approval_id"]]
        assert isinstance(approval, Approval)
        caller = caller_from(req.headers.get("x-ms-client-principal"), subject)
        if approval.approvers and not caller.is_one_of(approval.approvers):
            who = caller.name or "an anonymous caller"
            raise HttpError(
                403, f"{who} may not answer approval {approval.id!r}: it is for {approval.approvers}"
            )
        body = read_json(req, limit=engine_settings().max_body_bytes)
        try:
            response = approval.response_adapter.validate_python(body)
        except ValidationError as exc:
            raise HttpError(
                400, f"invalid response for approval {approval.id!r}", errors=field_errors(exc)
            ) from exc
        if token and not self.used_tokens.claim(token):
            raise HttpError(403, "this approval link has already been used")
        answer = {
            "response": approval.response_adapter.dump_python(response, mode="json"),
            "decided_by": caller.name,
            "via": "endpoint",
        }
        await client.raise_event(status.instance_id, pending["event_name"], {APPROVAL_ENVELOPE: answer})
        return json_response(
            {
                "accepted": True,
                "requestId": request_id,
                "instanceId": status.instance_id,
                "decidedBy": caller.name,
            },
            status=202,
        )

    async def terminate(
        self, req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        _, status = await self._run_status(req, client)
        if runtime_status_name(status) in FINISHED:
            raise HttpError(410, f"run {status.instance_id!r} has finished ({runtime_status_name(status)})")
        body = read_json(req, required=False, limit=engine_settings().max_body_bytes)
        reason = body.get("reason") if isinstance(body, dict) else None
        await client.terminate(status.instance_id, str(reason or "terminated through the workflow API"))
        return json_response({"accepted": True, "instanceId": status.instance_id}, status=202)

    async def openapi(self, req: func.HttpRequest, client: Any) -> func.HttpResponse:
        return json_response(
            openapi_document(
                list(self.workflows.values()), _api_base(req, self.route_prefix), self.route_prefix
            )
        )


async def _guarded(handler: Any, req: func.HttpRequest, client: Any) -> func.HttpResponse:
    try:
        return await handler(req, client)
    except HttpError as exc:
        return exc.response()


def _int_param(req: func.HttpRequest, name: str, *, default: int, low: int, high: int) -> int:
    raw = req.params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HttpError(400, f"{name} must be a whole number", field=name) from None
    if not low <= value <= high:
        raise HttpError(400, f"{name} must be between {low} and {high}", field=name)
    return value


def _without_key(url: str) -> str:
    """A management URL without the host's system key (``code=``): only operators should hold that."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    kept = [p for p in query.split("&") if not p.lower().startswith("code=")]
    return f"{base}?{'&'.join(kept)}" if kept else base


def _api_base(req: func.HttpRequest, prefix: str) -> str:
    """``scheme://host/api`` of this request, so links work under any host and host route prefix."""
    url = req.url.split("?", 1)[0].rstrip("/")
    if url.endswith("/openapi.json"):
        return url[: -len("/openapi.json")]
    head, sep, _ = url.partition(f"/{prefix}")
    return head if sep else url.rsplit("/", 1)[0]
