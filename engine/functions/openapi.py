"""The OpenAPI 3.1 document of the workflow HTTP API, generated from the route table (``routes.py``).

Per-workflow routes are documented once per workflow, with its input and approval response schemas.
Every status a route can answer is listed (``routes.statuses``), with the shape of each answer. Function
keys are a security scheme (``?code=`` or the ``x-functions-key`` header), required only when the host
checks them (the WORKFLOW_HOST_CHECKS_KEYS app setting: devhost sets it, true on Azure).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter

from engine.core.graph import Workflow
from engine.core.versions import WorkflowVersions
from engine.functions.request_bodies import LinkRequest, ReasonBody
from engine.functions.route_model import INSTANCE, NAME, REQUEST, Param, Route, statuses

REF = "#/components/schemas/{model}"
ERROR = {"$ref": "#/components/schemas/Error"}
PATH_PARAM = re.compile(r"\{\*?([A-Za-z_]+)\}")
PATH_PARAMS = {p.name: p for p in (INSTANCE, REQUEST, NAME)}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "field": {"type": "string", "description": "the parameter or field that is wrong"},
        "errors": {
            "type": "array",
            "description": "every field that is wrong (a body that does not match its schema)",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "description": "a dotted path into the body"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
        "known": {"type": "array", "items": {"type": "string"}, "description": "the names that exist"},
        "allowed": {"type": "array", "items": {"type": "string"}, "description": "the values allowed"},
    },
}
KEY_SCHEMES: dict[str, Any] = {
    "functionKey": {"type": "apiKey", "in": "query", "name": "code", "description": "a function key"},
    "functionKeyHeader": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
    "masterKey": {"type": "apiKey", "in": "query", "name": "code", "description": "the host's master key"},
    "masterKeyHeader": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
}
FUNCTION_KEY = [{"functionKey": []}, {"functionKeyHeader": []}]  # either one (the master key works too)
MASTER_KEY = [{"masterKey": []}, {"masterKeyHeader": []}]


def openapi_path(route: Route, prefix: str, workflow: str | None = None) -> str:
    """The route as an OpenAPI path (``{*path}`` becomes ``{path}``), the workflow name filled in."""
    path = "/" + PATH_PARAM.sub(r"{\1}", route.resolved(prefix))
    return path.replace("{name}", workflow) if workflow is not None else path


def _closed(schema: Any) -> Any:
    """The schema with every object of named properties closed to others: an answer is validated with
    ``extra="forbid"`` all the way down (``Approval.parse_answer``)."""
    if isinstance(schema, dict):
        closed = {k: _closed(v) for k, v in schema.items()}
        if "properties" in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


def _renamed(schema: Any, names: dict[str, str]) -> Any:
    if isinstance(schema, dict):
        out = {k: _renamed(v, names) for k, v in schema.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF.format(model="")):
            name = ref[len(REF.format(model="")) :]
            out["$ref"] = REF.format(model=names.get(name, name))
        return out
    if isinstance(schema, list):
        return [_renamed(v, names) for v in schema]
    return schema


def _schema(adapter: TypeAdapter[Any], components: dict[str, Any], *, closed: bool = False) -> dict[str, Any]:
    """The type's schema, its models in ``components`` by title. A title already taken by another shape
    (an answer closed to unknown fields, an input model open to them) gets a name of its own."""
    schema = adapter.json_schema(ref_template=REF)
    if closed:
        schema = _closed(schema)
    defs: dict[str, Any] = schema.pop("$defs", {})
    title = schema.get("title")
    if schema.get("type") == "object" and isinstance(title, str):
        defs[title] = copy.deepcopy(schema)
        schema = {"$ref": REF.format(model=title)}
    names: dict[str, str] = {}
    while True:
        taken = [n for n, d in _renamed(defs, names).items() if components.get(names.get(n, n), d) != d]
        if not taken:
            break
        for name in taken:
            names[name] = names.get(name, name) + "_"
    for name, definition in _renamed(defs, names).items():
        components[names.get(name, name)] = definition
    return dict(_renamed(schema, names))


def _param(param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "required": param.required or param.where == "path",
        "schema": param.schema,
    }
    if param.description:
        out["description"] = param.description
    return out


def _approval_body(versions: tuple[Workflow, ...], components: dict[str, Any]) -> dict[str, Any]:
    """Any approval's answer of any version served (a run answers on the graph it started on)."""
    options: list[dict[str, Any]] = []
    for workflow in versions:
        for approval in workflow.every_approval():  # agents' questions before a tool too
            response = _schema(approval.response_adapter, components, closed=True)
            if response not in options:
                options.append(response)
    return options[0] if len(options) == 1 else {"anyOf": options}


def _body(route: Route, versions: tuple[Workflow, ...], components: dict[str, Any]) -> dict[str, Any] | None:
    workflow = versions[-1] if versions else None
    if route.body == "input" and workflow is not None:
        schema = _schema(workflow.start_node.input_adapter, components)
    elif route.body == "approval" and versions:
        schema = _approval_body(versions, components)
    elif route.body == "link":
        schema = _schema(TypeAdapter(LinkRequest), components)
    elif route.body == "reason":
        schema = _schema(TypeAdapter(ReasonBody), components)
        return {"required": False, "content": {"application/json": {"schema": schema}}}
    else:
        return None
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _responses(route: Route, components: dict[str, Any], *, keys_checked: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code, text in statuses(route, keys_checked=keys_checked).items():
        answer: dict[str, Any] = {"description": text}
        if code == 401 and 401 not in route.responses:
            pass  # the host answers it (Azure with no body; devhost with JSON)
        elif code >= 400:
            answer["content"] = {"application/json": {"schema": ERROR}}
        elif code == 308:
            answer["headers"] = {"Location": {"schema": {"type": "string"}}}
        elif code != 304:
            shape = route.response
            schema = _schema(TypeAdapter(shape), components) if shape is not None else {}
            if route.handler.__name__ == "openapi":
                schema = {"type": "object"}
            answer["content"] = {t: {"schema": schema} for t in route.content_types}
            if route.headers:
                answer["headers"] = {h: {"schema": {"type": "string"}} for h in route.headers}
        responses[str(code)] = answer
    return responses


def _operation(
    route: Route,
    versions: tuple[Workflow, ...],
    components: dict[str, Any],
    *,
    keys_checked: bool,
    anonymous_api: bool,
) -> dict[str, Any]:
    workflow = versions[-1] if versions else None
    path = route.resolved("")  # the prefix is no parameter: it is filled in
    declared = {p.name for p in route.params}
    params = [
        _param(PATH_PARAMS.get(name, Param(name, "path", {"type": "string"}, required=True)))
        for name in (m.group(1) for m in PATH_PARAM.finditer(path))
        if name not in declared and (name != "name" or workflow is None)
    ]
    params += [_param(p) for p in route.params]
    summary = route.summary
    if workflow is not None:
        summary += f" of {workflow.name}" + (f": {workflow.description}" if workflow.description else "")
    operation: dict[str, Any] = {
        "operationId": route.handler.__name__ + (f"_{workflow.name}" if workflow is not None else ""),
        "summary": summary,
        "tags": list(route.tags),
        "parameters": params,
        "responses": _responses(route, components, keys_checked=keys_checked),
    }
    if workflow is not None:
        operation["x-workflow-version"] = workflow.version
        operation["x-workflow-fingerprint"] = workflow.fingerprint
    body = _body(route, versions, components)
    if body is not None:
        operation["requestBody"] = body
    if route.anonymous or not keys_checked or (anonymous_api and not route.admin):
        operation["security"] = []
    elif route.admin:
        operation["security"] = MASTER_KEY
    return operation


def openapi_document(
    routes: Iterable[Route],
    workflows: Iterable[Workflow] | WorkflowVersions,
    api_base: str,
    prefix: str,
    *,
    keys_checked: bool = True,
    anonymous_api: bool = False,
) -> dict[str, Any]:
    """``keys_checked``: whether the host checks function keys; ``anonymous_api``: the app registered its
    routes at the anonymous auth level (only admin routes then need a key)."""
    versions = workflows if isinstance(workflows, WorkflowVersions) else WorkflowVersions.of(workflows)
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    options = {"keys_checked": keys_checked, "anonymous_api": anonymous_api}
    for route in routes:
        method = route.method.lower()
        if not route.per_workflow:
            operation = _operation(route, (), components, **options)
            paths.setdefault(openapi_path(route, prefix), {})[method] = operation
            continue
        for name in versions.newest():
            served = versions.versions(name)
            asks = any(w.every_approval() for w in served)
            if REQUEST in route.params and not asks:
                continue
            operation = _operation(route, served, components, **options)
            paths.setdefault(openapi_path(route, prefix, name), {})[method] = operation
    keys = (
        "The host checks function keys: send one as ?code= or in the x-functions-key header."
        if keys_checked
        else "This host checks no function keys (the WORKFLOW_HOST_CHECKS_KEYS app setting is false)."
    )
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Durable agent workflows", "version": "1.0.0", "description": keys},
        "servers": [{"url": api_base}],
        "paths": paths,
        "components": {"schemas": components},
    }
    if keys_checked:
        document["components"]["securitySchemes"] = KEY_SCHEMES
        document["security"] = FUNCTION_KEY
    return document
