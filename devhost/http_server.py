"""The aiohttp front door: HTTP functions under the route prefix, and the durable task APIs.

Every error devhost itself answers for an HTTP function's path is JSON, ``{"error": "..."}`` naming what
was wrong (no function for the path, the methods it accepts, a missing key, a function that raised, a body
over the limit); the durable task APIs answer their own JSON shape (``Message``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost import logs
from devhost.client_binding import RPC_PATH, WEBHOOK_PATH
from devhost.http_routes import RouteMatch, RouteMiss, RouteTable
from devhost.indexing import HttpFunction
from devhost.invocation import Invoker
from devhost.keys import Keys
from devhost.management_api import ManagementApi
from devhost.settings import DEFAULT_MAX_BODY_BYTES

HTTP_REASON = "This function was programmatically called via the host APIs."


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _shown(path: str) -> str:
    return path if len(path) <= 200 else path[:200] + "..."


def _no_function(request: web.Request, miss: RouteMiss) -> web.Response:
    where = f"{request.method} {_shown(request.path)}"
    if not miss.allowed:
        return json_error(404, f"No HTTP function matches {where}.")
    methods = ", ".join(miss.allowed)
    return json_error(
        405, f"Method not allowed: {where}; this path accepts {methods}.", headers={"Allow": methods}
    )


def _too_large(limit: int, size: int | None) -> web.Response:
    got = f"{size} bytes" if size is not None else "larger"
    message = (
        f"The request body is too large: {got}, over the host's limit of {limit} bytes "
        "(app setting FUNCTIONS_REQUEST_BODY_SIZE_LIMIT, or devhost --max-body-bytes)."
    )
    # `error` as our API answers, `Message` as the durable management API does.
    return web.json_response({"error": message, "Message": message}, status=413)


def _supplied_key(request: web.Request) -> str | None:
    return request.query.get("code") or request.headers.get("x-functions-key")


def to_aiohttp(result: Any) -> web.Response:
    """func.HttpResponse (or a plain return value) -> aiohttp response, as the worker converts it."""
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items()}
        if not any(k.lower() == "content-type" for k in headers):
            mimetype = result.mimetype or "text/plain"
            headers["Content-Type"] = f"{mimetype}; charset={result.charset}" if result.charset else mimetype
        return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
    if result is None:
        return web.Response(status=204)
    if isinstance(result, bytes | bytearray):
        return web.Response(body=bytes(result), content_type="application/octet-stream")
    if isinstance(result, str):
        return web.Response(text=result)
    return web.Response(text=json.dumps(result), content_type="application/json")


class HttpServer:
    def __init__(
        self,
        routes: RouteTable,
        invoker: Invoker,
        management: ManagementApi,
        client_binding: Callable[[], str],
        keys: Keys | None,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.routes = routes
        self.invoker = invoker
        self.management = management
        self.client_binding = client_binding
        self.keys = keys  # None: keys are not enforced (like `func start`)
        self.max_body_bytes = max_body_bytes
        # aiohttp enforces the cap while reading a body without Content-Length (chunked); _handle turns
        # its error into our JSON 413, and refuses a declared Content-Length over the cap before reading.
        self.app = web.Application(client_max_size=max_body_bytes, middlewares=[_errors_as_json])
        # Every path, newlines (%0A) included, comes to _handle: aiohttp's own 404 would be text.
        self.app.router.add_route("*", r"/{tail:[\s\S]*}", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        size = request.content_length
        if size is not None and size > self.max_body_bytes:
            return _too_large(self.max_body_bytes, size)
        try:
            return await self._route(request)
        except web.HTTPRequestEntityTooLarge:
            return _too_large(self.max_body_bytes, None)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith(RPC_PATH):
            # The worker-facing RPC endpoint the SDK client talks to (no keys, as in the host).
            return await self.management.handle(request, path[len(RPC_PATH) :])
        if path == WEBHOOK_PATH or path.startswith(WEBHOOK_PATH + "/"):
            if self.keys is not None and not self.keys.allows_system(_supplied_key(request)):
                return web.json_response(
                    {"Message": "Unauthorized: a system or master key is required."}, status=401
                )
            return await self.management.handle(request, path[len(WEBHOOK_PATH) :])
        if path in ("", "/"):
            return web.Response(text="devhost: your Functions host is running.")
        match = self.routes.resolve(path, request.method)
        if isinstance(match, RouteMiss):
            return _no_function(request, match)
        return await self._invoke(request, match)

    async def _invoke(self, request: web.Request, match: RouteMatch) -> web.StreamResponse:
        fn: HttpFunction = match.target
        if self.keys is not None and not self.keys.allows(fn.auth_level, _supplied_key(request)):
            key = "the master key" if fn.auth_level == "admin" else "a function or master key"
            return json_error(
                401, f"Function '{fn.name}' needs {key}: pass it as ?code= or in the x-functions-key header."
            )
        body = await request.read()
        req = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query),
            route_params=match.route_params,
            body=body,
        )
        kwargs: dict[str, Any] = {fn.trigger_param: req}
        for client in fn.client_params:
            kwargs[client] = self.client_binding()
        try:
            result = await self.invoker.call(
                fn.name, fn.fn, kwargs, reason=HTTP_REASON, wants_context=fn.wants_context
            )
            return to_aiohttp(result)
        except Exception:
            # Like the host: log the exception, answer 500 without its details.
            logs.logger.exception("Function '%s' raised an exception", fn.name)
            return json_error(
                500, f"Function '{fn.name}' raised an exception; the devhost log has the details."
            )


@web.middleware
async def _errors_as_json(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """What aiohttp would answer as text (an HTTP error it raises, an exception devhost did not expect)
    is answered as JSON too."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_error(exc.status, f"{exc.reason}: {request.method} {_shown(request.path)}.")
    except asyncio.CancelledError:
        raise
    except Exception:
        logs.logger.exception("devhost: internal error while serving %s %s", request.method, request.path)
        where = f"{request.method} {_shown(request.path)}"
        return json_error(500, f"devhost failed to serve {where}; its log has the details.")
