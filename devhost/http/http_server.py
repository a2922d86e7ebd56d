"""The aiohttp front doors: the public listener (HTTP functions under the route prefix, the durable
management webhooks) and the internal one (the SDK client's durable API).

Every error devhost itself answers for an HTTP function's path is JSON, ``{"error": "..."}`` naming what
was wrong (no function for the path, the methods it accepts, a missing key, a function that raised, a body
over the limit); the durable task APIs answer their own JSON shape (``Message``).

As the Functions host serves the extension's RPC endpoint only to its own worker (a listener on
127.0.0.1 of its own), devhost serves the SDK client's API only on a second listener, bound to 127.0.0.1
on a port of its own, under a path that carries a secret of the process: the client binding's
``rpcBaseUrl`` is the only way to it. Nothing on the public port answers it. Both listeners refuse
requests addressed to a name other than this machine's (see request_guards).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from devhost.config.host_settings import DEFAULT_MAX_BODY_BYTES
from devhost.console import host_logs
from devhost.functions.binding_support import UnsupportedBindingError
from devhost.functions.indexing import HttpFunction
from devhost.http.function_keys import Keys
from devhost.http.http_routes import RouteMatch, RouteMiss, RouteTable
from devhost.http.malformed_requests import refusal_response
from devhost.http.mcp_server import MCP_PATH, McpServer
from devhost.http.request_guards import (
    cross_origin_refusal,
    url_for_app,
    without_easy_auth_headers,
    wrong_host,
)
from devhost.management.client_binding import RPC_PATH, WEBHOOK_PATH
from devhost.management.management_api import ManagementApi
from devhost.worker.invocation import Invoker

HTTP_REASON = "This function was programmatically called via the host APIs."


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """An error devhost answers for an HTTP function's path: ``{"error": message}``."""
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


_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _within_body_limit(request: web.Request, limit: int, route: _Handler) -> web.StreamResponse:
    """A declared Content-Length over the cap is refused before reading; aiohttp enforces it while reading a
    body without one (chunked), and its error becomes the same JSON 413."""
    size = request.content_length
    if size is not None and size > limit:
        return _too_large(limit, size)
    try:
        return await route(request)
    except web.HTTPRequestEntityTooLarge:
        return _too_large(limit, None)


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
    """The public listener."""

    def __init__(
        self,
        routes: RouteTable,
        invoker: Invoker,
        management: ManagementApi,
        client_binding: Callable[[], str],
        keys: Keys | None,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        simulate_easy_auth: bool = False,
        mcp: McpServer | None = None,
        http_streams: bool = False,
    ) -> None:
        self.routes = routes
        self.mcp = mcp  # the app's MCP tools (None: the app has none, and the MCP endpoints are not served)
        self.invoker = invoker
        self.management = management
        self.client_binding = client_binding
        self.keys = keys  # None: keys are not enforced (like `func start`)
        self.max_body_bytes = max_body_bytes
        # False: client-sent x-ms-client-principal* headers are removed, as no Easy Auth vouches for them.
        self.simulate_easy_auth = simulate_easy_auth
        # aiohttp enforces the cap while reading a body without Content-Length (chunked); _handle turns
        # its error into our JSON 413, and refuses a declared Content-Length over the cap before reading.
        self.app = web.Application(
            client_max_size=max_body_bytes, middlewares=[_errors_as_json(_shown_path), _loopback_hosts_only]
        )
        # Every path, newlines (%0A) included, comes to _handle: aiohttp's own 404 would be text.
        self.app.router.add_route("*", r"/{tail:[\s\S]*}", self._handle)
        if mcp is not None:
            self.app.on_shutdown.append(mcp.close)  # its SSE streams end, so the listener can stop
        # The app uses HTTP streams: its functions are called through the extension's web app
        # (http_streams), imported only then.
        self.stream_app: Any = None
        # The requests whose answers are streaming now, ended when the listener stops (a response held
        # open, such as Server-Sent Events, would otherwise keep the stop waiting).
        self._streaming: set[asyncio.Task[Any]] = set()
        if http_streams:
            from devhost.http.http_streams import stream_web_app

            self.stream_app = stream_web_app()
            self.app.on_shutdown.append(self._end_streaming)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        return await _within_body_limit(request, self.max_body_bytes, self._route)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == WEBHOOK_PATH or path.startswith(WEBHOOK_PATH + "/"):
            refused = cross_origin_refusal(request)
            if refused is not None:
                return refused
            if self.keys is not None and not self.keys.allows_system(_supplied_key(request)):
                return web.json_response(
                    {"Message": "Unauthorized: a system or master key is required."}, status=401
                )
            return await self.management.handle(request, path[len(WEBHOOK_PATH) :])
        if self.mcp is not None and (path == MCP_PATH or path.startswith(MCP_PATH + "/")):
            return cross_origin_refusal(request) or await self.mcp.handle(request)
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
        headers = dict(request.headers)
        headers = headers if self.simulate_easy_auth else without_easy_auth_headers(headers)
        if self.stream_app is not None:
            return await self._invoke_streamed(request, match, headers)
        req = func.HttpRequest(
            method=request.method,
            url=url_for_app(request),
            headers=headers,
            params=dict(request.query),
            route_params=match.route_params,
            body=await request.read(),
        )
        try:
            return to_aiohttp(await self._call(fn, req))
        except _Refused as exc:
            return json_error(exc.status, exc.message)

    async def _call(self, fn: HttpFunction, req: Any) -> Any:
        """The function called with ``req`` as its trigger parameter; its failure as devhost answers it
        (``_Refused``), logged as the host logs it."""
        kwargs: dict[str, Any] = {fn.trigger_param: req}
        for client in fn.client_params:
            kwargs[client] = self.client_binding()
        try:
            return await self.invoker.call(
                fn.name, fn.fn, kwargs, reason=HTTP_REASON, wants_context=fn.wants_context
            )
        except UnsupportedBindingError as exc:
            # Not the app's failure: devhost refuses a binding it does not run (501), and says which.
            host_logs.logger.warning("%s", exc)
            raise _Refused(501, str(exc)) from None
        except Exception:
            # Like the host: log the exception, answer 500 without its details.
            host_logs.logger.exception("Function '%s' raised an exception", fn.name)
            raise _Refused(
                500, f"Function '{fn.name}' raised an exception; the devhost log has the details."
            ) from None

    async def _invoke_streamed(
        self, request: web.Request, match: RouteMatch, headers: dict[str, str]
    ) -> web.StreamResponse:
        """The function of an app using HTTP streams: called with the extension's Request, its answer
        written to the client as it is produced (http_streams)."""
        from devhost.http.http_streams import error_answer, serve_streamed, with_route_params

        fn: HttpFunction = match.target

        async def call(req: Any) -> Any:
            try:
                return await self._call(fn, with_route_params(req, match.route_params))
            except _Refused as exc:
                return error_answer(exc.status, exc.message)

        task = asyncio.current_task()
        assert task is not None
        self._streaming.add(task)
        try:
            return await serve_streamed(request, url_for_app(request), headers, call, self.stream_app)
        finally:
            self._streaming.discard(task)

    async def _end_streaming(self, _app: web.Application) -> None:
        for task in self._streaming:
            task.cancel()


class _Refused(Exception):
    """A function call devhost answers with an error of its own (the function raised, or a binding is not
    run)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class InternalServer:
    """The internal listener: the SDK client's durable API, for the app's own durable clients only.

    Served under ``/durabletask/<secret>/`` (``path``), the secret made anew each process and handed to the
    app in the client binding's ``rpcBaseUrl``; anything else is a 404, and a request from a browser page
    (any ``Origin``) a 403: the SDK sends none.
    """

    def __init__(self, management: ManagementApi, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.management = management
        self.max_body_bytes = max_body_bytes
        self.path = f"{RPC_PATH}{secrets.token_urlsafe(24)}/"
        self.app = web.Application(
            client_max_size=max_body_bytes,
            middlewares=[_errors_as_json(self._shown_path), _loopback_hosts_only],
        )
        self.app.router.add_route("*", r"/{tail:[\s\S]*}", self._handle)

    def _shown_path(self, request: web.Request) -> str:
        """The path as logs and errors show it: never the secret."""
        path = request.path
        if path.startswith(self.path):
            path = RPC_PATH + "<secret>/" + path[len(self.path) :]
        return _shown(path)

    def _ours(self, path: str) -> bool:
        prefix = self.path.encode()
        return secrets.compare_digest(path.encode("utf-8", "surrogatepass")[: len(prefix)], prefix)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if not self._ours(request.path):
            return web.json_response({"Message": "Not found."}, status=404)
        if "Origin" in request.headers:
            message = "The durable client API serves the app's durable clients only, not browser pages."
            return web.json_response({"Message": message}, status=403)
        return await _within_body_limit(request, self.max_body_bytes, self._route)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        return await self.management.handle(request, request.path[len(self.path) :], page_size=None)


def _shown_path(request: web.Request) -> str:
    return _shown(request.path)


@web.middleware
async def _loopback_hosts_only(request: web.Request, handler: _Handler) -> web.StreamResponse:
    return wrong_host(request) or await handler(request)


def _errors_as_json(
    shown_path: Callable[[web.Request], str],
) -> Callable[[web.Request, _Handler], Awaitable[web.StreamResponse]]:
    """What aiohttp would answer as text (an HTTP error it raises, an exception devhost did not expect)
    is answered as JSON too."""

    @web.middleware
    async def middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
        where = f"{request.method} {shown_path(request)}"
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return json_error(exc.status, f"{exc.reason}: {where}.")
        except HttpProcessingError as exc:
            # A body the parser refused once the request was under way (bad chunked encoding arriving
            # after the headers): the parser's 400, never quoting the body.
            return refusal_response(exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            host_logs.logger.exception("devhost: internal error while serving %s", where)
            return json_error(500, f"devhost failed to serve {where}; its log has the details.")

    return middleware
