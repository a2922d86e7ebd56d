"""Every workflow as MCP tools (the Functions host's MCP extension): what each tool declares and how a call
becomes a request through the workflow API's own route.

The tools are ``start_<workflow>`` (the workflow's input fields as its properties), ``get_run``,
``list_pending_approvals`` and ``answer_approval``. A call is turned into the request the HTTP API would get
(the route's path parameters, query and JSON body) and answered by ``dispatch.answer`` through the route
table: the same checks, handlers, approval rules and answer rights as HTTP, never a second copy.

Identity: a tool call carries no caller identity. The request built for it has no Easy Auth principal and
no bearer token, whatever reached the host, so an MCP caller is an anonymous caller with the key: it
answers only requests without named approvers, or the one request a respond link's ``token`` (passed as
an argument) names, exactly as an anonymous HTTP caller with that link could. It can never do more than
that HTTP caller.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.core.graph import Workflow
from engine.functions.dispatch import answer
from engine.functions.http_json import field_errors
from engine.functions.route_model import Route
from engine.functions.routes import ROUTES
from engine.functions.workflow_api import WorkflowApi

PropertyType = Literal["string", "number", "integer", "boolean", "object"]
_JSON_TYPES: dict[str, PropertyType] = {
    "string": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
    "object": "object",
}
INPUT_PROPERTY = "input"  # the one property of a workflow whose input is not an object


class ToolProperty(BaseModel):
    """One property of a tool as the MCP extension's ``toolProperties`` JSON lists it."""

    propertyName: str
    propertyType: PropertyType
    description: str = ""
    isRequired: bool = False
    isArray: bool = False


class ToolCallContext(BaseModel):
    """The trigger's payload the host sends for a tool call: the tool's name and its arguments."""

    model_config = ConfigDict(extra="ignore")

    name: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)


class RunArguments(BaseModel):
    """``get_run`` and ``list_pending_approvals``: which run (and, for ``get_run``, how long to wait)."""

    model_config = ConfigDict(extra="forbid")

    workflow: str
    instanceId: str
    wait: int | None = Field(default=None, ge=0, le=60)
    token: str | None = None


class AnswerArguments(BaseModel):
    """``answer_approval``: the request of the run, the response, and a respond link's token if any."""

    model_config = ConfigDict(extra="forbid")

    workflow: str
    instanceId: str
    requestId: str
    response: dict[str, Any]
    token: str | None = None


class ToolError(Exception):
    """A tool call refused (bad arguments) or answered with an error: the host reports it as the tool's
    error, its text naming the field or the API's reason."""


@dataclass(frozen=True)
class ToolRequest:
    """What a call asks of the workflow API: the route's function name, its path parameters, its query
    and its JSON body (None: no body)."""

    route: str
    route_params: dict[str, str]
    params: dict[str, str]
    body: Any = None

    def http_request(self, method: str, path: str) -> func.HttpRequest:
        """The request as the HTTP API receives it, carrying no identity (see the module's rule)."""
        body = b"" if self.body is None else json.dumps(self.body).encode()
        return func.HttpRequest(
            method=method,
            url=f"http://localhost/api/{path}",
            headers={"Content-Type": "application/json"} if self.body is not None else {},
            params=self.params,
            route_params=self.route_params,
            body=body,
        )


@dataclass(frozen=True)
class McpTool:
    """One tool: its name, description and properties, and how a call's arguments become a request."""

    name: str
    description: str
    properties: tuple[ToolProperty, ...]
    request: Callable[[dict[str, Any]], ToolRequest]
    # What the tool answers from the route's JSON answer (the whole answer by default).
    pick: Callable[[Any], Any] = lambda body: body

    def tool_properties(self) -> str:
        """The ``toolProperties`` JSON of the trigger."""
        return json.dumps([p.model_dump() for p in self.properties])


def _parsed(model: type[BaseModel], arguments: dict[str, Any], tool: str) -> Any:
    """The arguments as ``model``, or a ToolError naming each field that is wrong."""
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        wrong = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors(exc))
        raise ToolError(f"{tool}: invalid arguments: {wrong}") from exc


def _run_params(workflow: str, instance_id: str) -> dict[str, str]:
    return {"name": workflow, "instanceId": instance_id}


def _input_properties(workflow: Workflow) -> tuple[ToolProperty, ...]:
    """The workflow's input fields as tool properties (one ``input`` property for a non-object input)."""
    schema = workflow.input_schema()
    fields = schema.get("properties")
    if schema.get("type") != "object" or not isinstance(fields, dict):
        return (ToolProperty(propertyName=INPUT_PROPERTY, propertyType="object", isRequired=True),)
    required = set(schema.get("required", []))
    return tuple(_property(name, spec, name in required) for name, spec in fields.items())


def _property(name: str, spec: dict[str, Any], required: bool) -> ToolProperty:
    """One input field as a tool property: its JSON type (an array's item type), its description."""
    kind = spec.get("type")
    is_array = kind == "array"
    if is_array:
        kind = (spec.get("items") or {}).get("type")
    return ToolProperty(
        propertyName=name,
        propertyType=_JSON_TYPES.get(str(kind), "object"),
        description=str(spec.get("description") or spec.get("title") or ""),
        isRequired=required,
        isArray=is_array,
    )


def start_tool(workflow: Workflow) -> McpTool:
    """``start_<workflow>``: start a run with the arguments as its input."""
    properties = _input_properties(workflow)
    wrapped = properties[0].propertyName == INPUT_PROPERTY and len(properties) == 1

    def request(arguments: dict[str, Any]) -> ToolRequest:
        body = arguments.get(INPUT_PROPERTY) if wrapped else arguments
        return ToolRequest("workflow_start", {"name": workflow.name}, {}, body)

    summary = workflow.description or f"Start a run of workflow {workflow.name!r}."
    return McpTool(
        f"start_{workflow.name}", f"{summary} Answers the run's instance id and links.", properties, request
    )


def _text(name: str, description: str, required: bool = True) -> ToolProperty:
    return ToolProperty(
        propertyName=name, propertyType="string", description=description, isRequired=required
    )


WORKFLOW = _text("workflow", "the workflow's name")
INSTANCE = _text("instanceId", "the run's instance id")
TOKEN = _text("token", "a respond link's token, to answer as the person it was issued to", required=False)


def _get_run(arguments: dict[str, Any]) -> ToolRequest:
    args: RunArguments = _parsed(RunArguments, arguments, "get_run")
    params = {"wait": str(args.wait)} if args.wait is not None else {}
    params |= {"token": args.token} if args.token else {}
    return ToolRequest("workflow_run", _run_params(args.workflow, args.instanceId), params)


def _pending(arguments: dict[str, Any]) -> ToolRequest:
    args: RunArguments = _parsed(RunArguments, arguments, "list_pending_approvals")
    if args.wait is not None:
        raise ToolError("list_pending_approvals: invalid arguments: wait: not an argument of this tool")
    params = {"token": args.token} if args.token else {}
    return ToolRequest("workflow_run", _run_params(args.workflow, args.instanceId), params)


def _answer(arguments: dict[str, Any]) -> ToolRequest:
    args: AnswerArguments = _parsed(AnswerArguments, arguments, "answer_approval")
    route_params = {**_run_params(args.workflow, args.instanceId), "requestId": args.requestId}
    params = {"token": args.token} if args.token else {}
    return ToolRequest("workflow_approve", route_params, params, args.response)


def _pending_only(view: Any) -> Any:
    """The run view's pending approvals (and how many there are)."""
    return {k: view.get(k) for k in ("pendingApprovals", "pendingApprovalsTotal")}


RUN_TOOLS: tuple[McpTool, ...] = (
    McpTool(
        "get_run",
        "The view of a run: its phase, executors, pending and closed approvals and outputs. With wait "
        "(seconds, up to 60) it waits until the run finishes or waits for a person.",
        (
            WORKFLOW,
            INSTANCE,
            ToolProperty(propertyName="wait", propertyType="integer", description="seconds to wait (0-60)"),
            TOKEN,
        ),
        _get_run,
    ),
    McpTool(
        "list_pending_approvals",
        "The approval requests of a run waiting for an answer: each with its request id, the question, the "
        "response schema and whether this caller may answer it.",
        (WORKFLOW, INSTANCE, TOKEN),
        _pending,
        _pending_only,
    ),
    McpTool(
        "answer_approval",
        "Answer a pending approval request of a run. An MCP caller has no identity: it answers requests "
        "without named approvers, or the one a respond link's token names.",
        (
            WORKFLOW,
            INSTANCE,
            _text("requestId", "the request's id, from list_pending_approvals"),
            ToolProperty(
                propertyName="response",
                propertyType="object",
                description="the response, as the request's response schema says",
                isRequired=True,
            ),
            TOKEN,
        ),
        _answer,
    ),
)


def workflow_tools(workflows: dict[str, Workflow]) -> tuple[McpTool, ...]:
    """Every tool the app registers: one start tool per workflow, then the run tools."""
    return tuple(start_tool(w) for w in workflows.values()) + RUN_TOOLS


def call_arguments(context: Any) -> dict[str, Any]:
    """The call's arguments from the trigger's payload (JSON text, or already a dict)."""
    try:
        payload = json.loads(context) if isinstance(context, str | bytes) else context
        return ToolCallContext.model_validate(payload).arguments
    except (ValueError, ValidationError) as exc:
        raise ToolError(f"the tool call's payload is not what the MCP extension sends: {exc}") from exc


_ROUTES: dict[str, Route] = {r.function_name: r for r in ROUTES}


async def call_tool(api: WorkflowApi, tool: McpTool, context: Any, client: Any) -> str:
    """One call of ``tool``: its arguments checked, the request answered by the route it names (as an HTTP
    request to it would be), the answer as the tool's result; a ToolError names what was wrong."""
    request = tool.request(call_arguments(context))
    route = _ROUTES[request.route]
    path = route.resolved(api.route_prefix)
    for name, value in request.route_params.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    response = await answer(api, route, request.http_request(route.method, path), client)
    return tool_answer(tool, response)


def tool_answer(tool: McpTool, response: func.HttpResponse) -> str:
    """The tool's result (JSON text) from the route's answer; an error answer raises ToolError with the
    API's reason (the field it names, its errors)."""
    text = response.get_body().decode("utf-8", "replace")
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    if response.status_code >= 400:
        raise ToolError(f"{tool.name}: {response.status_code}: {text}")
    return json.dumps(tool.pick(body))


__all__ = [
    "RUN_TOOLS",
    "AnswerArguments",
    "McpTool",
    "RunArguments",
    "ToolCallContext",
    "ToolError",
    "ToolProperty",
    "ToolRequest",
    "call_arguments",
    "call_tool",
    "start_tool",
    "tool_answer",
    "workflow_tools",
]
