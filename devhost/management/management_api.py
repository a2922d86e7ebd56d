"""The Durable Functions HTTP management API: the public webhooks, and the SDK client's RPC endpoint.

Both answer the same requests (as the extension's one handler does); they differ in who may call them
(see http_server) and in the instance list's default page: the webhooks page it as the extension does
(``top``, 100 by default; ``x-ms-continuation-token`` request and response headers), the RPC endpoint
lists everything unless asked for ``top``, because the Python SDK's ``get_status_all()`` and
``get_status_by()`` never send a continuation token.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from devhost.durable.history import fmt_public_time, loads_or_text, parse_time, public_history
from devhost.durable.new_instances import TERMINAL
from devhost.durable.task_hub import ListFilter, TaskHub, TaskHubError, input_text_from_body
from devhost.durable.task_hub_store import InstanceRecord
from devhost.management import async_http_pattern, entity_api
from devhost.management.client_binding import WEBHOOK_PATH, management_urls
from devhost.management.other_task_hubs import OtherTaskHub, is_other_task_hub, requested_task_hub
from devhost.management.page_size import page_top
from devhost.management.task_hub_client import TaskHubClient

STATUSES = {
    "Pending",
    "Running",
    "Completed",
    "ContinuedAsNew",
    "Failed",
    "Terminated",
    "Suspended",
    "Canceled",
}
TRUE = {"true", "1", "yes"}
# The extension's default page for a list without `top` (OrchestrationStatusQueryCondition.PageSize).
DEFAULT_PAGE_SIZE = 100
CONTINUATION = "x-ms-continuation-token"


def _body_text(body: bytes) -> str | None:
    """The body as stored JSON text; ValueError for anything that is not JSON the host could keep
    (bad syntax, not UTF-8, numbers past Python's digit limit, nesting past the parser's recursion limit)."""
    try:
        text = input_text_from_body(body)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    # json.loads accepts a UTF-8 byte order mark; the stored text must not keep it, or the orchestrator's
    # own json.loads of its input fails and the instance never starts.
    return text.removeprefix("\ufeff") if text is not None else None


async def _json_body(request: web.Request, complaint: str) -> str | None:
    """The request body as stored JSON text; ValueError(complaint), a 400, when it is not JSON."""
    try:
        return _body_text(await request.read())
    except ValueError:
        raise ValueError(complaint) from None


def _check_new_instance_id(iid: str) -> None:
    # The task hub refuses / \ # ?; control characters would also break the Location header of the reply.
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in iid):
        raise TaskHubError(400, "Invalid instance ID: it contains control characters.")


def _error(status: int, message: str) -> web.Response:
    # ExceptionMessage is what the SDK's start_new reads on a 400.
    return web.json_response({"Message": message, "ExceptionMessage": message}, status=status)


def status_json(
    rec: InstanceRecord,
    *,
    show_input: bool = True,
    history: list[dict[str, Any]] | None = None,
    show_history_output: bool = False,
) -> dict[str, Any]:
    """An instance as the status query answers it; with ``history``, its events as ``historyEvents``."""
    out: dict[str, Any] = {
        "name": rec.name,
        "instanceId": rec.instance_id,
        "runtimeStatus": rec.status,
        "input": loads_or_text(rec.input) if show_input else None,
        "customStatus": loads_or_text(rec.custom_status),
        "output": loads_or_text(rec.output),
        "createdTime": fmt_public_time(parse_time(rec.created)),
        "lastUpdatedTime": fmt_public_time(parse_time(rec.updated)),
    }
    if history is not None:
        out["historyEvents"] = public_history(
            history, rec.name, show_output=show_history_output, show_input=show_input
        )
    return out


def _continuation_token(rec: InstanceRecord) -> str:
    """Where the next page starts: after this record in the list's order (created time, instance id), so
    instances started or purged between two pages neither repeat nor drop an instance listed before."""
    return base64.urlsafe_b64encode(json.dumps([rec.created, rec.instance_id]).encode()).decode()


def _after(token: str) -> tuple[str, str]:
    try:
        created, instance_id = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, TypeError, UnicodeError, binascii.Error, RecursionError):
        raise ValueError(f"Invalid {CONTINUATION}.") from None
    if not isinstance(created, str) or not isinstance(instance_id, str):
        raise ValueError(f"Invalid {CONTINUATION}.")
    return created, instance_id


class ManagementApi:
    """The management API over the app's task hub (or the empty one another ``taskHub`` names)."""

    def __init__(
        self, task_hub: TaskHub, hub: str, system_key: str | None, origin: Callable[[], str]
    ) -> None:
        self.task_hub = task_hub
        self.hub = hub
        self.system_key = system_key
        self.origin = origin  # devhost's own base URL: links never follow the request's Host header

    async def handle(
        self, request: web.Request, rel: str, *, page_size: int | None = DEFAULT_PAGE_SIZE
    ) -> web.Response:
        """`rel` is the path after the API root, e.g. 'instances/abc/raiseEvent/Approval'; ``page_size``
        is the instance list's page when the request names no ``top`` (None: the whole list)."""
        parts = [p for p in rel.split("/") if p]
        try:
            hub = self._task_hub_for(request)
            response = await self._route(request, hub, parts, page_size)
        except TaskHubError as exc:
            return _error(exc.status, exc.message)
        except ValueError as exc:
            return _error(400, str(exc))
        if response is None:
            return _error(404, f"Unknown durable task API path '/{rel}'.")
        return response

    async def _route(
        self, request: web.Request, hub: TaskHubClient, parts: list[str], page_size: int | None
    ) -> web.Response | None:
        """The answer of the route the path's segments name; None when none does (a 404)."""
        method = request.method.upper()
        # The extension's routes match their literal segments (orchestrators, raiseEvent, ...) in any case.
        kind = parts[0].lower() if parts else ""
        if kind == "orchestrators" and len(parts) in (2, 3) and method == "POST":
            return await self._start(request, hub, parts[1], parts[2] if len(parts) == 3 else None)
        if kind == "entities":
            return await entity_api.handle(request, hub, parts[1:])
        if kind == "instances":
            return await self._instances_route(request, hub, method, parts[1:], page_size)
        return None

    async def _instances_route(
        self, request: web.Request, hub: TaskHubClient, method: str, below: list[str], page_size: int | None
    ) -> web.Response | None:
        """``instances``, ``instances/{id}`` or ``instances/{id}/{operation}...``, by ``below``: the
        segments after ``instances``."""
        if not below:
            return await self._instances(request, hub, method, page_size)
        if len(below) == 1:
            return await self._instance(request, hub, method, below[0])
        if method != "POST":
            return _error(405, f"Instance operations need POST, not {method}.")
        return await self._operation(request, hub, below[0], below[1:])

    async def _instances(
        self, request: web.Request, hub: TaskHubClient, method: str, page_size: int | None
    ) -> web.Response:
        """The instances collection: its list (GET), or a purge of the instances it filters (DELETE)."""
        if method == "GET":
            return self._list(request, hub, page_size)
        if method == "DELETE":
            return await self._purge_by(request, hub)
        return _error(405, f"{method} is not supported on the instances collection.")

    async def _instance(
        self, request: web.Request, hub: TaskHubClient, method: str, iid: str
    ) -> web.Response:
        """One instance: its status (GET), or its purge (DELETE)."""
        if method == "GET":
            return self._status(request, hub, iid)
        if method == "DELETE":
            deleted = await hub.purge([iid])
            if not deleted:
                hub.require(iid, live=False)  # its 404, naming the hub's reason
                return _error(404, f"No instance with ID '{iid}' found.")
            return web.json_response({"instancesDeleted": deleted})
        return _error(405, f"{method} is not supported on an instance.")

    async def _operation(
        self, request: web.Request, hub: TaskHubClient, iid: str, op_parts: list[str]
    ) -> web.Response | None:
        """A POST to an instance's operation (raiseEvent/{name}, terminate, suspend, resume, restart,
        rewind); None for any other path."""
        op, args = op_parts[0].lower(), op_parts[1:]
        if op == "raiseevent" and len(args) == 1:
            return await self._raise(request, hub, iid, args[0])
        if args:
            return None
        if op in ("terminate", "suspend", "resume"):
            hub.control(iid, op, request.query.get("reason", ""))
            return web.Response(status=202)
        if op == "restart":
            return await self._restart(request, hub, iid)
        if op == "rewind":
            hub.rewind(iid, request.query.get("reason", ""))
            return web.Response(status=202)
        return None

    def _task_hub_for(self, request: web.Request) -> TaskHubClient:
        """The app's task hub, unless the request's ``taskHub`` names another (other_task_hubs)."""
        requested = requested_task_hub(request.query)
        if requested is not None and is_other_task_hub(requested, self.hub):
            return OtherTaskHub(requested, self.hub)
        return self.task_hub

    async def _start(
        self, request: web.Request, hub: TaskHubClient, name: str, iid: str | None
    ) -> web.Response:
        if iid is not None:
            _check_new_instance_id(iid)
        text = await _json_body(request, "The request body is not valid JSON.")
        wait = async_http_pattern.requested_wait(
            request.query.get("timeout"), request.query.get("pollingInterval")
        )
        # ?version= is the version the SDK client's start_new(..., version=) sends; none: defaultVersion.
        rec = hub.start_new(name, iid, text, request.query.get("version") or None)
        if wait is not None:
            return await self._wait_or_check_status(request, hub, rec.instance_id, wait)
        return self._check_status_response(rec.instance_id)

    async def _restart(self, request: web.Request, hub: TaskHubClient, iid: str) -> web.Response:
        """HttpApiHandler.HandleRestartInstanceRequestAsync: the restarted instance's check-status response,
        or, with ``timeout`` and ``pollingInterval``, its output once it completes, as a start answers."""
        new_id = async_http_pattern.query_bool(request.query.get("restartWithNewInstanceId"))
        try:
            restarted = hub.restart(iid, True if new_id is None else new_id)
        except TaskHubError as exc:
            if exc.status != 404:
                raise
            # DurableClient.RestartAsync throws an ArgumentException, which the handler answers 400.
            raise TaskHubError(
                400, f"InstanceId does not match a valid orchestration instance: {exc.message}"
            ) from None
        # As the extension, the wait is read once the instance has restarted.
        wait = async_http_pattern.requested_wait(
            request.query.get("timeout"), request.query.get("pollingInterval")
        )
        if wait is not None:
            return await self._wait_or_check_status(request, hub, restarted, wait)
        return self._check_status_response(restarted)

    def _check_status_response(self, iid: str) -> web.Response:
        """The extension's CreateCheckStatusResponse: 202, the instance's links, Location and Retry-After."""
        links = management_urls(self.origin(), self.hub, self.system_key, iid)
        links.pop("rewindPostUri")  # the extension's check-status body names every link but this one
        return web.json_response(
            links, status=202, headers=async_http_pattern.check_status_headers(links["statusQueryGetUri"])
        )

    async def _wait_or_check_status(
        self, request: web.Request, hub: TaskHubClient, iid: str, wait: async_http_pattern.Wait
    ) -> web.Response:
        """A start with ``timeout`` and ``pollingInterval``: the output (200) if the instance completes in
        time, its status if it fails or is terminated, else the check-status response."""
        rec = await async_http_pattern.wait_until_finished(lambda: hub.record(iid), wait)
        if rec is None or rec.status not in async_http_pattern.FINISHED:
            return self._check_status_response(iid)
        if rec.status == "Completed":
            return web.json_response(loads_or_text(rec.output))
        # The extension answers these with its status query, a failure as 200 (it passes false for
        # returnInternalServerErrorOnFailure).
        return self._status(request, hub, iid, server_error_on_failure=False)

    def _status(
        self,
        request: web.Request,
        hub: TaskHubClient,
        iid: str,
        *,
        server_error_on_failure: bool | None = None,
    ) -> web.Response:
        rec = hub.require(iid, live=False)  # 404 naming the hub's reason when there is none
        q = request.query
        show_history = q.get("showHistory", "").lower() in TRUE
        body = status_json(
            rec,
            show_input=q.get("showInput", "true").lower() in TRUE,
            history=hub.history(iid) if show_history else None,
            show_history_output=q.get("showHistoryOutput", "").lower() in TRUE,
        )
        if server_error_on_failure is None:
            asked = async_http_pattern.query_bool(q.get("returnInternalServerErrorOnFailure"))
            server_error_on_failure = bool(asked)
        code = async_http_pattern.status_code(rec.status, server_error_on_failure=server_error_on_failure)
        # Location is the status query itself, on devhost's public webhook (never the request's Host).
        location = f"{self.origin()}{WEBHOOK_PATH}/instances/{quote(iid, safe='')}"
        if request.query_string:
            location += "?" + request.query_string
        return web.json_response(body, status=code, headers=async_http_pattern.status_headers(code, location))

    async def _raise(self, request: web.Request, hub: TaskHubClient, iid: str, name: str) -> web.Response:
        """HttpApiHandler.HandleRaiseEventRequestAsync, in its order: the instance (404, 410 once it has
        finished), the media type (only application/json), the body (one JSON value; empty is none)."""
        hub.require(iid, live=True)
        # aiohttp reads a missing Content-Type as application/octet-stream: only the header itself counts.
        media_type = request.content_type if "Content-Type" in request.headers else None
        if media_type is None or media_type.lower() != "application/json":
            raise TaskHubError(400, "Only application/json request content is supported.")
        text = await _json_body(request, "Invalid JSON content: the body is not valid JSON.")
        if text is None:
            raise TaskHubError(400, "Invalid JSON content: the body is empty, not a JSON value.")
        hub.raise_event(iid, name, text)
        return web.Response(status=202)

    def _filter(self, request: web.Request) -> ListFilter:
        q = request.query
        statuses = None
        if q.get("runtimeStatus"):
            statuses = {s.strip() for s in q["runtimeStatus"].split(",") if s.strip()}
            unknown = statuses - STATUSES
            if unknown:
                raise ValueError(f"Unknown runtimeStatus value(s): {', '.join(sorted(unknown))}.")

        def when(key: str) -> datetime | None:
            if not q.get(key):
                return None
            try:
                return parse_time(q[key])
            except ValueError:
                raise ValueError(f"{key} must be an ISO 8601 date-time, got '{q[key]}'.") from None

        return ListFilter(statuses, when("createdTimeFrom"), when("createdTimeTo"), q.get("instanceIdPrefix"))

    def _list(self, request: web.Request, hub: TaskHubClient, page_size: int | None) -> web.Response:
        records = hub.list(self._filter(request))
        q = request.query
        token = request.headers.get(CONTINUATION)
        if token:
            after = _after(token)
            records = [r for r in records if (r.created, r.instance_id) > after]
        top = page_top(q, page_size)
        page = records if top is None else records[:top]
        headers = {}
        if len(page) < len(records):
            headers[CONTINUATION] = _continuation_token(page[-1])
        show_input = q.get("showInput", "true").lower() in TRUE
        return web.json_response([status_json(r, show_input=show_input) for r in page], headers=headers)

    async def _purge_by(self, request: web.Request, hub: TaskHubClient) -> web.Response:
        flt = self._filter(request)
        if flt.runtime_status is None:
            flt.runtime_status = set(TERMINAL)
        deleted = await hub.purge([r.instance_id for r in hub.list(flt)])
        if not deleted:
            return _error(404, "No instances matched the purge filter.")
        return web.json_response({"instancesDeleted": deleted})
