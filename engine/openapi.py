"""The OpenAPI 3.1 document of the workflow HTTP API, with each workflow's input and approval schemas."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from engine.graph import Workflow

REF = "#/components/schemas/{model}"
ERROR = {"$ref": "#/components/schemas/Error"}


def _schema(adapter: TypeAdapter[Any], components: dict[str, Any]) -> dict[str, Any]:
    schema = adapter.json_schema(ref_template=REF)
    components.update(schema.pop("$defs", {}))
    title = schema.get("title")
    if schema.get("type") == "object" and isinstance(title, str) and components.get(title, schema) == schema:
        components[title] = schema
        return {"$ref": REF.format(model=title)}
    return schema


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "invalid request (field errors)", 404: "unknown", 409: "conflict", 410: "run finished"}
    return {str(c): _json(ERROR, text[c]) for c in codes}


def openapi_document(workflows: list[Workflow], api_base: str, prefix: str) -> dict[str, Any]:
    components: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string"},
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
        },
        "Accepted": {"type": "object", "additionalProperties": True},
        "RunView": {"type": "object", "additionalProperties": True},
    }
    instance = {"name": "instanceId", "in": "path", "required": True, "schema": {"type": "string"}}
    paths: dict[str, Any] = {
        f"/{prefix}": {
            "get": {
                "operationId": "listWorkflows",
                "summary": "Every workflow: name, description, input schema, Mermaid graph",
                "responses": {"200": _json({"type": "object"}, "the workflows")},
            }
        }
    }
    for wf in workflows:
        base = f"/{prefix}/{wf.name}"
        input_schema = _schema(wf.start_node.input_adapter, components)
        paths[base] = {
            "post": {
                "operationId": f"start_{wf.name}",
                "summary": f"Start a run of {wf.name}" + (f": {wf.description}" if wf.description else ""),
                "parameters": [
                    {"name": "instanceId", "in": "query", "required": False, "schema": {"type": "string"}}
                ],
                "requestBody": {"required": True, "content": {"application/json": {"schema": input_schema}}},
                "responses": {
                    "202": _json({"$ref": "#/components/schemas/Accepted"}, "started; check-status links"),
                    **_errors(400, 404, 409),
                },
            }
        }
        paths[f"{base}/runs"] = {
            "get": {
                "operationId": f"list_{wf.name}_runs",
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "top",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                    {"name": "skip", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                ],
                "responses": {"200": _json({"type": "object"}, "recent runs"), **_errors(400, 404)},
            }
        }
        paths[f"{base}/runs/{{instanceId}}"] = {
            "get": {
                "operationId": f"get_{wf.name}_run",
                "parameters": [instance],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/RunView"}, "the workflow view of a run"),
                    **_errors(400, 404),
                },
            }
        }
        paths[f"{base}/runs/{{instanceId}}/terminate"] = {
            "post": {
                "operationId": f"terminate_{wf.name}_run",
                "parameters": [instance],
                "responses": {"202": _json({"type": "object"}, "terminating"), **_errors(400, 404, 410)},
            }
        }
        for approval in wf.approvals():
            response_schema = _schema(approval.response_adapter, components)
            key = f"{base}/runs/{{instanceId}}/approvals/{{requestId}}"
            operation = paths.setdefault(key, {}).setdefault(
                "post",
                {
                    "operationId": f"answer_{wf.name}_approval",
                    "summary": "Answer a pending approval of this workflow",
                    "parameters": [
                        instance,
                        {"name": "requestId", "in": "path", "required": True, "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"oneOf": []}}},
                    },
                    "responses": {
                        "202": _json({"type": "object"}, "answer accepted"),
                        **_errors(400, 404, 409, 410),
                    },
                },
            )
            options = operation["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
            if response_schema not in options:
                options.append(response_schema)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Durable agent workflows", "version": "1.0.0"},
        "servers": [{"url": api_base}],
        "paths": paths,
        "components": {"schemas": components},
    }
