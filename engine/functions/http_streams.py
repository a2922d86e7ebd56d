"""The workflow API's HTTP functions with Azure Functions' HTTP streams (``WORKFLOW_HTTP_STREAMS``).

With the ``azurefunctions-extensions-http-fastapi`` extension imported, the Python worker calls every HTTP
function of the app with FastAPI's ``Request`` and sends what it answers (a FastAPI response) as it is
produced; the app setting ``PYTHON_ENABLE_INIT_INDEXING=1`` starts the worker's server for it. Here each
such request becomes the ``func.HttpRequest`` the handlers take, and each answer a FastAPI response: an
``EventStream`` (Server-Sent Events) held open as a ``StreamingResponse``, any other answer as it is.

Importing this module turns HTTP streams on for the whole Functions app (the worker decides by the import),
so ``WorkflowApp`` imports it only when asked to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response, StreamingResponse

from engine.functions.azure_client import AzureDurableClient
from engine.functions.dispatch import answer
from engine.functions.event_stream import EventStream
from engine.functions.route_model import Route
from engine.functions.workflow_api import WorkflowApi


async def functions_request(request: Request) -> func.HttpRequest:
    """The FastAPI request as the ``func.HttpRequest`` the handlers take (the host's route parameters are
    its path parameters)."""
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=dict(request.headers),
        params=dict(request.query_params),
        route_params={k: str(v) for k, v in request.path_params.items()},
        body=await request.body(),
    )


def streamed(reply: func.HttpResponse) -> Response:
    """The handler's answer as a FastAPI response: an ``EventStream`` held open, each piece sent as it is
    produced; any other as its status, headers and body."""
    headers = dict(reply.headers)
    if isinstance(reply, EventStream):
        return StreamingResponse(reply.events(True), media_type=reply.mimetype, headers=headers)
    if not any(name.lower() == "content-type" for name in headers) and reply.mimetype:
        headers["Content-Type"] = f"{reply.mimetype}; charset={reply.charset or 'utf-8'}"
    return Response(content=reply.get_body(), status_code=reply.status_code, headers=headers)


Endpoint = Callable[..., Awaitable[Response]]


def endpoint(api: WorkflowApi, route: Route) -> Endpoint:
    """The HTTP function of one route, taking the extension's ``Request`` (with the durable client binding
    when the route needs it)."""
    if route.durable_client:

        async def with_client(req: Request, client: Any) -> Response:
            # ``client``: the durable client binding's (app.py wraps this with durable_client_input, which
            # hands it over as the SDK's client); handlers reach the task hub through the seam only.
            reply = await answer(api, route, await functions_request(req), AzureDurableClient(client))
            return streamed(reply)

        return with_client

    async def plain(req: Request) -> Response:
        return streamed(await answer(api, route, await functions_request(req), None))

    return plain


__all__ = ["endpoint", "functions_request", "streamed"]
