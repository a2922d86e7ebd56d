"""The workflow HTTP API on aiohttp: the one adapter this hosting adds.

The handlers are the Functions app's own (``engine.functions``: the route table, ``dispatch.answer``,
``reads_api``/``approvals_api``/``lifecycle_api``); they take ``azure.functions.HttpRequest`` and answer
``azure.functions.HttpResponse``, plain classes of the azure-functions library that need no Functions
host. Here each aiohttp request becomes one, and each answer an aiohttp response; an ``EventStream``
(Server-Sent Events) is held open, each piece of its body sent as it is produced.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func
from aiohttp import web

from engine.durable.client import DurableClient
from engine.functions.dispatch import answer
from engine.functions.event_stream import EventStream
from engine.functions.http_json import HttpError
from engine.functions.route_model import Route
from engine.functions.workflow_api import WorkflowApi

API_PREFIX = "api"  # the Functions host's default route prefix, kept so URLs are the same on both hostings
MAX_BODY_BYTES = 100 * 1024 * 1024  # the Functions host's limit; the app's own (smaller) limit answers first


def aiohttp_path(route: Route, prefix: str) -> str:
    """The route's path in aiohttp's syntax: ``{*path}`` (a Functions catch-all) becomes ``{path:.*}``."""
    path = re.sub(r"\{\*(\w+)\}", r"{\1:.*}", route.resolved(prefix))
    return f"/{API_PREFIX}/{path}".rstrip("/")


async def functions_request(request: web.Request) -> func.HttpRequest:
    """The aiohttp request as the Functions worker would hand it to a function."""
    body = await request.read()
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=dict(request.headers),
        params=dict(request.query),
        route_params=dict(request.match_info),
        body=body,
    )


def aiohttp_response(reply: func.HttpResponse) -> web.Response:
    """The handler's answer as an aiohttp response (a Content-Type from its mimetype when it sets none)."""
    headers = dict(reply.headers)
    if "Content-Type" not in headers and "content-type" not in headers and reply.mimetype:
        headers["Content-Type"] = f"{reply.mimetype}; charset={reply.charset or 'utf-8'}"
    return web.Response(body=reply.get_body(), status=reply.status_code, headers=headers)


# The handlers holding an EventStream open, ended when the server stops: a stop then waits for none of them.
_HELD: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("held", set)


async def _end_held(app: web.Application) -> None:
    for task in app[_HELD]:
        task.cancel()


async def streamed(request: web.Request, reply: EventStream) -> web.StreamResponse:
    """An ``EventStream`` held open: each piece written (chunked) as its producer yields it; a reader that
    goes away ends it, and so does the server stopping."""
    task = asyncio.current_task()
    assert task is not None
    held = request.app[_HELD]
    held.add(task)
    try:
        return await _write(request, reply)
    finally:
        held.discard(task)


async def _write(request: web.Request, reply: EventStream) -> web.StreamResponse:
    response = web.StreamResponse(status=reply.status_code, headers=dict(reply.headers))
    response.content_type = reply.mimetype
    response.charset = reply.charset or "utf-8"
    await response.prepare(request)
    pieces = reply.events(True)
    try:
        async for piece in pieces:
            await response.write(piece.encode())
    except ConnectionError:
        return response  # the reader went away: nothing more to send
    finally:
        await pieces.aclose()
    await response.write_eof()
    return response


def handler_for(
    api: WorkflowApi, route: Route, client: DurableClient
) -> Callable[[web.Request], Awaitable[Any]]:
    """The aiohttp handler of one route: each request converted and answered through ``dispatch.answer``."""
    target = client if route.durable_client else None

    async def handle(request: web.Request) -> web.StreamResponse:
        reply = await answer(api, route, await functions_request(request), target)
        if isinstance(reply, EventStream):
            return await streamed(request, reply)
        return aiohttp_response(reply)

    return handle


@web.middleware
async def json_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
    """aiohttp's own refusals (no such route, method not allowed, a body too large) answered as JSON, as
    every answer of the API is."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return aiohttp_response(HttpError(exc.status, exc.reason or "refused").response())


def application(api: WorkflowApi, routes: list[Route], client: DurableClient) -> web.Application:
    """An aiohttp app serving every route of the table over ``client``."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[json_errors])
    app[_HELD] = set()
    app.on_shutdown.append(_end_held)
    for route in routes:
        app.router.add_route(
            route.method, aiohttp_path(route, api.route_prefix), handler_for(api, route, client)
        )
    return app


__all__ = ["API_PREFIX", "aiohttp_path", "application", "functions_request"]
