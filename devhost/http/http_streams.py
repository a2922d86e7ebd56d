"""HTTP functions of an app that uses HTTP streams (``devhost.functions.http_streams``), called as the
worker calls them: through the extension's own web app (FastAPI, one catch-all route), with FastAPI's
``Request`` as the trigger parameter, the function's answer turned into a response by FastAPI as the
worker's server turns it (a ``StreamingResponse`` as it is, a dict as JSON, ...), and written to the client
as the app produces it: each piece of the body is sent (chunked) when the app yields it, never gathered.

On Azure the worker runs that web app under its own HTTP server and the host proxies the request to it;
devhost calls the same ASGI app in its process with the request it received, so there is no second port
and no second hop. The request body is read whole first (within the host's body limit, as every request
devhost serves); the response streams.

Imported only for an app that uses HTTP streams, so devhost needs neither FastAPI nor the extension
otherwise.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from azurefunctions.extensions.base import RequestTrackerMeta
from azurefunctions.extensions.http.fastapi import JSONResponse, Request, WebApp
from starlette.requests import ClientDisconnect
from yarl import URL

from devhost.console import host_logs

# What the catch-all route calls for one request: the function, with the request as its trigger parameter.
Call = Callable[[Request], Awaitable[Any]]
_CALL = "devhost.call"  # the scope key the call travels under, from the listener to the route
_ASGI = {"version": "3.0", "spec_version": "2.4"}  # 2.4: a write to a gone client raises (no listener task)


async def _catch_all(request: Request) -> Any:
    """The worker's route: every path, every method; the function's answer, as FastAPI will send it."""
    call: Call = request.scope[_CALL]
    return await call(request)


def stream_web_app() -> Any:
    """The extension's web app with the worker's one route (the ASGI app devhost calls)."""
    app = WebApp()
    app.route(_catch_all)
    return app.get_app()


def with_route_params(request: Request, route_params: dict[str, str]) -> Request:
    """The request with the host's route parameters as its path parameters, as the worker syncs them."""
    RequestTrackerMeta.get_synchronizer().sync_route_params(request, route_params)
    return request


def error_answer(status: int, message: str) -> Any:
    """devhost's own JSON error (``{"error": ...}``), as a response of the extension's."""
    return JSONResponse({"error": message}, status_code=status)


def _raw(text: str) -> bytes:
    """Text aiohttp decoded from the request's bytes, as those bytes again (ASGI carries bytes)."""
    return text.encode("utf-8", "surrogateescape")


def _scope(request: web.Request, url: str, headers: dict[str, str], call: Call) -> dict[str, Any]:
    """The ASGI scope of the request as the app sees it (its URL, its headers), carrying the call."""
    seen = URL(url)
    return {
        "type": "http",
        "asgi": _ASGI,
        "http_version": f"{request.version.major}.{request.version.minor}",
        "method": request.method,
        "scheme": seen.scheme,
        "path": request.path,
        "raw_path": _raw(request.raw_path.split("?", 1)[0]),
        "query_string": _raw(request.query_string),
        "root_path": "",
        "headers": [(_raw(k.lower()), _raw(v)) for k, v in headers.items()],
        "client": (request.remote or "127.0.0.1", 0),
        "server": (seen.host or "127.0.0.1", seen.port or 80),
        "state": {},
        _CALL: call,
    }


async def serve_streamed(
    request: web.Request, url: str, headers: dict[str, str], call: Call, app: Any
) -> web.StreamResponse:
    """Answer ``request`` through the stream web app ``app``: the response's head once the app starts it,
    then each piece of its body as the app sends it."""
    body = await request.read()
    response = web.StreamResponse()
    delivered = ended = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # no more body; a gone client shows as a failed write (spec 2.4)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal ended
        if message["type"] == "http.response.start":
            response.set_status(message["status"])
            for name, value in message.get("headers", []):
                response.headers.add(name.decode("latin-1"), value.decode("latin-1"))
            await response.prepare(request)
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            if chunk:
                await response.write(chunk)  # sent now: aiohttp writes it out (chunked without a length)
            if not message.get("more_body", False):
                await response.write_eof()
                ended = True

    try:
        await app(_scope(request, url, headers, call), receive, send)
    except (ClientDisconnect, ConnectionError):
        return response  # the client went away mid-answer: nothing more to send
    except Exception:
        if ended:  # FastAPI answered the failure itself (a 500) before raising it again
            return response
        host_logs.logger.exception(
            "devhost: the streamed answer to %s %s failed", request.method, request.path
        )
        if not response.prepared:
            message = f"devhost failed to answer {request.method} {request.path}; its log has the details."
            return web.Response(
                status=500, text=json.dumps({"error": message}), content_type="application/json"
            )
        if request.transport is not None:
            request.transport.close()  # mid-body: the client sees the answer cut, never a false end
    return response


__all__ = ["Call", "error_answer", "serve_streamed", "stream_web_app", "with_route_params"]
