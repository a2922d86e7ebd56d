"""A request checked against what the route table documents, before its handler reads any state.

Query parameters are checked against their documented schema (``routes.Param``), and the bodies of
answers, links, terminate and rewind against theirs, so a request the OpenAPI document calls invalid is
a 400 naming the field whatever the run's state: a finished run's 410 is for valid requests only. The
handlers still parse what they use; these checks only refuse earlier. A run's input is checked by the
start handler itself (it depends on the version the request chooses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import azure.functions as func
from pydantic import ValidationError

from engine.core.versions import WorkflowVersions
from engine.functions.http_json import HttpError, field_errors, read_json, validated
from engine.functions.request_bodies import LinkRequest, ReasonBody
from engine.functions.routes import Param, Route
from engine.functions.settings import engine_settings

WHOLE_NUMBER = re.compile(r"-?[0-9]+")  # ASCII digits only: int() would take "٣", " 3" and "1_0"


def check_request(route: Route, req: func.HttpRequest, versions: WorkflowVersions) -> None:
    """Raise the 400 (or 413) the request deserves by its documented parameters and body alone."""
    check_query(route.params, req.params)
    check_body(route, req, versions)


def check_query(params: tuple[Param, ...], query: Mapping[str, str]) -> None:
    """Each query parameter the route documents, when present, against its schema (a 400 naming it)."""
    for param in params:
        raw = query.get(param.name)
        if param.where == "query" and raw is not None:
            _check_value(param, raw)


def _check_value(param: Param, raw: str) -> None:
    schema = param.schema
    if schema.get("type") == "integer":
        low, high = schema["minimum"], schema["maximum"]
        if not WHOLE_NUMBER.fullmatch(raw):
            raise HttpError(400, f"{param.name} must be a whole number", field=param.name)
        if not low <= int(raw) <= high:
            raise HttpError(400, f"{param.name} must be between {low} and {high}", field=param.name)
    elif schema.get("type") == "boolean":
        if raw not in ("true", "false"):
            raise HttpError(400, f"{param.name} must be true or false", field=param.name)
    elif "enum" in schema and raw not in schema["enum"]:
        allowed = list(schema["enum"])
        message = f"{param.name} must be one of {', '.join(allowed)}"
        raise HttpError(400, message, field=param.name, allowed=allowed)


def check_body(route: Route, req: func.HttpRequest, versions: WorkflowVersions) -> None:
    """The route's body against its documented model: a reason, a link request, or an approval's answer."""
    limit = engine_settings().max_body_bytes
    if route.body == "reason":
        # Optional: no body at all is fine; whitespace is no JSON, and null no object (read_json, lenient
        # for the handler, says None to all three).
        if req.get_body():
            validated(ReasonBody.model_validate, read_json(req, limit=limit), "body")
    elif route.body == "link":
        validated(LinkRequest.model_validate, read_json(req, limit=limit), "link request")
    elif route.body == "approval":
        name = req.route_params.get("name", "")
        approvals = [a for w in versions.versions(name) for a in w.every_approval()]
        if approvals:  # else the handler answers: no such workflow, or nothing to answer
            _check_answer(name, approvals, read_json(req, limit=limit))


def _check_answer(workflow: str, approvals: list[Any], body: Any) -> None:
    """The answer must be one that some approval of the workflow (any version served) takes; the
    handler then checks it against the one approval the request belongs to."""
    refused: ValidationError | None = None
    for approval in approvals:
        try:
            approval.parse_answer(body)
            return
        except ValidationError as exc:
            refused = refused or exc
    assert refused is not None
    message = f"invalid answer to an approval of workflow {workflow!r}"
    raise HttpError(400, message, errors=field_errors(refused))
