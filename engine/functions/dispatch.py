"""One request through one route, the same way in every hosting (the Functions app, ``python -m engine
serve``): a cross-site change refused, the request checked against the route table, the handler called,
and every error answered as JSON (a bug is logged with its trace for the operator, never shown)."""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

from engine.functions.http_json import HttpError, request_path
from engine.functions.public_url import is_cross_origin
from engine.functions.request_checks import check_request
from engine.functions.route_model import Route
from engine.functions.workflow_api import WorkflowApi

log = logging.getLogger("engine.http")


async def answer(api: WorkflowApi, route: Route, req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """The route's answer to ``req``; ``client`` is the ``DurableClient`` (None for routes needing none)."""
    if req.method not in ("GET", "HEAD") and is_cross_origin(req):
        # A page on another site posting here (a form, a no-preflight fetch): never a change of state.
        return HttpError(403, "cross-origin request refused: the Origin header names another site").response()
    try:
        check_request(route, req, api.versions)  # what the document calls invalid: 400 before any read
        return await route.handler(api, req, client)
    except HttpError as exc:
        return exc.response()
    except Exception as exc:
        # A bug or an unreachable backend: logged with its trace for the operator; the caller gets JSON
        # naming the route, never a stack trace.
        log.exception("%s %s failed", req.method, req.url)
        return HttpError(
            500, f"internal error while answering {req.method} {request_path(req)}: {type(exc).__name__}"
        ).response()


__all__ = ["answer"]
