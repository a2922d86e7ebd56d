"""JSON responses and request parsing for the workflow HTTP API: clear 4xx errors, never a stack trace."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

import azure.functions as func
from pydantic import ValidationError

T = TypeVar("T")
INSTANCE_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}"
NEW_INSTANCE_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"  # ':' is kept for a run's own instances
# Matched whole (fullmatch): with ``match``, ``$`` also matches before a trailing newline ("abc\n").
INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)


class HttpError(Exception):
    """An error answer: status code, a message, and optional details (such as field errors)."""

    def __init__(self, status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details

    def response(self) -> func.HttpResponse:
        """The error as a JSON answer: ``{"error": message, ...details}`` with its status."""
        return json_response({"error": self.message, **self.details}, status=self.status)


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """A JSON answer (values JSON cannot hold written as text)."""
    return func.HttpResponse(
        json.dumps(body, default=str),
        status_code=status,
        mimetype="application/json",
        headers=headers,
    )


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic errors as ``{field, message, type}``; ``field`` is a dotted path into the body."""
    return [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "(body)",
            "message": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors(include_url=False)
    ]


def validated(parse: Callable[[Any], T], body: Any, what: str) -> T:
    """``parse(body)``, or a 400 naming every field that is wrong (``what`` says what was invalid)."""
    try:
        return parse(body)
    except ValidationError as exc:
        raise HttpError(400, f"invalid {what}", errors=field_errors(exc)) from exc


def read_json(req: func.HttpRequest, *, required: bool = True, limit: int | None = None) -> Any:
    """The request body as JSON: 413 over ``limit``, 400 when empty (if ``required``) or not UTF-8 JSON."""
    body = req.get_body() or b""
    if limit is not None and len(body) > limit:
        raise HttpError(
            413,
            f"the request body is {len(body)} bytes, over the limit of {limit} bytes "
            "(app setting WORKFLOW_MAX_BODY_BYTES)",
        )
    if not body.strip():
        if required:
            raise HttpError(400, "the request body is empty: send a JSON document")
        return None
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HttpError(400, "the request body is not valid JSON: it is not UTF-8 text") from exc
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise HttpError(
            400, f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except (ValueError, RecursionError) as exc:
        # Nesting deeper than the parser's stack, integers past Python's digit limit, NaN / Infinity.
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise HttpError(400, f"the request body is not valid JSON: {reason}") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_instance_id(value: str) -> str:
    """``value`` when it is a valid instance id, else a 400 naming the rule."""
    if not INSTANCE_ID.fullmatch(value):
        raise HttpError(
            400,
            "invalid instanceId: 1-100 letters, digits and _ . : - , starting with a letter or digit",
            field="instanceId",
        )
    return value


def request_path(req: func.HttpRequest) -> str:
    """The path of the request's URL, without query or fragment."""
    url = req.url.split("?", 1)[0].split("#", 1)[0]
    after_scheme = url.split("://", 1)[-1]
    slash = after_scheme.find("/")
    return after_scheme[slash:] if slash >= 0 else "/"
