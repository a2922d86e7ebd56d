"""The OpenAPI 3.1 document of the workflow HTTP API, generated from the route table (``routes.py``).

Per-workflow routes are documented once per workflow, with its input and approval response schemas.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter

from engine.core.graph import Workflow
from engine.functions.routes import ROUTES, Param, Route

REF = "#/components/schemas/{model}"
ERROR = {"$ref": "#/components/schemas/Error"}
PATH_PARAM = re.compile(r"\{\*?([A-Za-z_]+)\}")
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


def openapi_path(route: Route, prefix: str, workflow: str | None = None) -> str:
    """The route as an OpenAPI path (``{*path}`` becomes ``{path}``), the workflow name filled in."""
    path = "/" + PATH_PARAM.sub(r"{\1}", route.resolved(prefix))
    return path.replace("{name}", workflow) if workflow is not None else path


def _schema(adapter: TypeAdapter[Any], components: dict[str, Any]) -> dict[str, Any]:
    schema = adapter.json_schema(ref_template=REF)
    components.update(schema.pop("$defs", {}))
    title = schema.get("title")
    if schema.get("type") == "object" and isinstance(title, str) and components.get(title, schema) == schema:
        components[title] = schema
        return {"$ref": REF.format(model=title)}
    return schema


def _param(param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "required": param.required or param.where == "path",
    }
    out["schema"] = param.schema
    if param.description:
        out["description"] = param.description
    return out


def _body(route: Route, workflow: Workflow | None, components: dict[str, Any]) -> dict[str, Any] | None:
    if route.body == "input" and workflow is not None:
        schema = _schema(workflow.start_node.input_adapter, components)
    elif route.body == "approval" and workflow is not None:
        options: list[dict[str, Any]] = []
        for approval in workflow.every_approval():
            response = _schema(approval.response_adapter, components)
            if response not in options:
                options.append(response)
        schema = options[0] if len(options) == 1 else {"oneOf": options}
    elif route.body == "link":
        schema = {
            "type": "object",
            "additionalProperties": False,
            "properties": {"for": {"type": ["string", "null"], "description": "the person the link is for"}},
        }
    elif route.body == "reason":
        return {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"reason": {"type": "string"}}}
                }
            },
        }
    else:
        return None
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _operation(route: Route, workflow: Workflow | None, components: dict[str, Any]) -> dict[str, Any]:
    path_params = [
        m.group(1) for m in PATH_PARAM.finditer(route.path) if m.group(1) != "name" or workflow is None
    ]
    declared = {p.name for p in route.params}
    params = [
        _param(Param(name, "path", {"type": "string"}, required=True))
        for name in path_params
        if name not in declared
    ]
    params += [_param(p) for p in route.params]
    responses: dict[str, Any] = {}
    for code, text in sorted(route.responses.items()):
        if code >= 400:
            responses[str(code)] = {"description": text, "content": {"application/json": {"schema": ERROR}}}
        elif code in (304, 308):
            responses[str(code)] = {"description": text}
        else:
            shape = route.response if code == 200 else None
            schema = _schema(TypeAdapter(shape), components) if shape is not None else {}
            responses[str(code)] = {"description": text, "content": {route.content_type: {"schema": schema}}}
    operation: dict[str, Any] = {
        "operationId": route.handler + (f"_{workflow.name}" if workflow is not None else ""),
        "summary": route.summary
        + (
            f" of {workflow.name}" + (f": {workflow.description}" if workflow.description else "")
            if workflow
            else ""
        ),
        "tags": list(route.tags),
        "parameters": params,
        "responses": responses,
    }
    if workflow is not None:
        operation["x-workflow-version"] = workflow.version
        operation["x-workflow-fingerprint"] = workflow.fingerprint
    body = _body(route, workflow, components)
    if body is not None:
        operation["requestBody"] = body
    if route.anonymous:
        operation["security"] = []
    elif route.admin:
        operation["security"] = [{"masterKey": []}]
    return operation


def openapi_document(workflows: list[Workflow], api_base: str, prefix: str) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for route in ROUTES:
        method = route.method.lower()
        if not route.per_workflow:
            paths.setdefault(openapi_path(route, prefix), {})[method] = _operation(route, None, components)
            continue
        for workflow in workflows:
            if route.body == "approval" and not workflow.every_approval():
                continue
            if route.handler in ("get_approval", "issue_link") and not workflow.every_approval():
                continue
            paths.setdefault(openapi_path(route, prefix, workflow.name), {})[method] = _operation(
                route, workflow, components
            )
    return {
        "openapi": "3.1.0",
        "info": {"title": "Durable agent workflows", "version": "1.0.0"},
        "servers": [{"url": api_base}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "query", "name": "code"},
                "masterKey": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "code",
                    "description": "the host's master key",
                },
            },
        },
        "security": [{"functionKey": []}],
    }
