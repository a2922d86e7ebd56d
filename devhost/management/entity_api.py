"""The entity routes of the Durable Functions HTTP API (the extension's HttpApiHandler, route
``entities/{entityName?}/{entityKey?}``), served on the webhooks and on the SDK client's endpoint:

- ``GET entities/{name}/{key}``: the entity's state as JSON, 200; 404 when the entity does not exist.
- ``POST entities/{name}/{key}?op=...`` (``DELETE``: the operation ``delete``): signal the entity, 202.
  A body with ``Content-Type: application/json`` is the operation's input as that JSON value (400 when it
  is not JSON); any other body is the input as a string; no body, no input.
- ``GET entities[/{name}]``: the existing entities (of that name), ``[{entityId: {name, key},
  lastOperationTime, state}]``, the state only with ``fetchState=true``; ``top`` pages the list (100 by
  default), the next page's token in the ``x-ms-continuation-token`` header, as for instances;
  ``lastOperationTimeFrom`` / ``lastOperationTimeTo`` filter by the last operation's time.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from aiohttp import web

from devhost.durable.history import parse_time
from devhost.durable.task_hub import TaskHubError, input_text_from_body
from devhost.durable.task_hub_store import EntityRecord
from devhost.management.page_size import page_top
from devhost.management.task_hub_client import TaskHubClient

DEFAULT_PAGE_SIZE = 100  # the extension's EntityQuery.PageSize
CONTINUATION = "x-ms-continuation-token"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"Message": message, "ExceptionMessage": message}, status=status)


async def handle(request: web.Request, task_hub: TaskHubClient, parts: list[str]) -> web.Response:
    """``parts``: the path segments after ``entities``."""
    method = request.method.upper()
    if len(parts) > 2:
        return _error(404, f"Unknown entity API path 'entities/{'/'.join(parts)}'.")
    name = parts[0] if parts else None
    key = parts[1] if len(parts) == 2 else None
    try:
        if method == "GET":
            if name is not None and key is not None:
                return _state(task_hub, name, key)
            return _list(request, task_hub, name)
        if method in ("POST", "DELETE"):
            if name is None or key is None:
                return _error(400, "An entity operation needs a name and a key: entities/{name}/{key}.")
            op = "delete" if method == "DELETE" else request.query.get("op", "")
            task_hub.signal_entity(name, key, op, await _operation_input(request))
            return web.Response(status=202)
        return _error(405, f"{method} is not supported on entities.")
    except TaskHubError as exc:
        return _error(exc.status, exc.message)
    except ValueError as exc:
        return _error(400, str(exc))


def _state(task_hub: TaskHubClient, name: str, key: str) -> web.Response:
    record = task_hub.entity(name, key)
    if record is None or not record.exists:
        return _error(404, f"No entity '@{name.lower()}@{key}' found.")
    return web.Response(text=record.state or "null", content_type="application/json")


async def _operation_input(request: web.Request) -> str | None:
    """The operation input's JSON text, as the extension turns the request body into it."""
    body = await request.read()
    if not body:
        return None
    if request.content_type.lower() == "application/json":
        try:
            text = input_text_from_body(body)
            value = json.loads(text) if text is not None else None
        except (ValueError, RecursionError):
            raise ValueError("Could not parse JSON content: the request body is not valid JSON.") from None
        return json.dumps(value, separators=(",", ":"))
    try:
        return json.dumps(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("The request body is not UTF-8 text.") from None


def _when(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name)
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None  # the extension ignores a value it cannot parse as a date


def _list(request: web.Request, task_hub: TaskHubClient, name: str | None) -> web.Response:
    q = request.query
    since, until = _when(request, "lastOperationTimeFrom"), _when(request, "lastOperationTimeTo")
    records = [
        r
        for r in task_hub.list_entities()
        if r.exists
        and (name is None or r.name == name.lower())
        and (since is None or parse_time(r.last_operation) >= since)
        and (until is None or parse_time(r.last_operation) <= until)
    ]
    token = request.headers.get(CONTINUATION)
    if token:
        after = _after(token)
        records = [r for r in records if r.instance_id > after]
    top = page_top(q, DEFAULT_PAGE_SIZE)
    page = records[:top]
    headers = {}
    if len(page) < len(records):
        headers[CONTINUATION] = base64.urlsafe_b64encode(page[-1].instance_id.encode()).decode()
    fetch_state = q.get("fetchState", "").lower() == "true"
    return web.json_response([_status(r, fetch_state) for r in page], headers=headers)


def _after(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError, binascii.Error):
        raise ValueError(f"Invalid {CONTINUATION}.") from None


def _status(record: EntityRecord, fetch_state: bool) -> dict[str, Any]:
    state = json.loads(record.state) if fetch_state and record.state is not None else None
    return {
        "entityId": {"name": record.name, "key": record.key},
        "lastOperationTime": record.last_operation,
        "state": state,
    }
