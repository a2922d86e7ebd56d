"""The shape of the route table (``routes.py``): a route, its parameters, and the statuses every route of
its kind can answer. Kept apart from the table so the modules the table names (the handlers) and the ones
that read it (OpenAPI, the request checks) need not import each other.

Paths are relative to the host's route prefix (``/api``); ``{prefix}`` is the workflow API's own route
(``workflows``). A route marked ``per_workflow`` is documented once per workflow, with that workflow's
input or approval schemas. ``responses`` lists what the handler answers; ``statuses`` adds what every
route of its kind can answer (the host's key check, the cross-origin refusal, the body limit, a bug).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import azure.functions as func
from pydantic import BaseModel

from engine.functions.http_json import INSTANCE_ID_PATTERN

if TYPE_CHECKING:
    from engine.functions.workflow_api import WorkflowApi

Body = Literal["none", "input", "approval", "reason", "link"]
# A handler: the app's API (its workflows and settings), the request, and the durable client (None for
# routes that need none).
Handler = Callable[["WorkflowApi", func.HttpRequest, Any], Awaitable[func.HttpResponse]]


@dataclass(frozen=True, slots=True)
class Param:
    """A path or query parameter. ``schema`` is one of the shapes below (``_int``, ``_bool``, ``_enum``,
    a string with or without a pattern): ``request_checks`` validates a query value against it before the
    handler runs, so the document and the checks cannot disagree."""

    name: str
    where: Literal["path", "query"]
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    """One route of the workflow API: its path and method, its handler, and what OpenAPI says of it."""

    function_name: str
    path: str
    method: Literal["GET", "POST", "DELETE"]
    handler: Handler  # the function that answers it
    summary: str
    responses: dict[int, str]  # what the handler answers (statuses() adds what every such route can)
    params: tuple[Param, ...] = ()
    body: Body = "none"
    per_workflow: bool = False
    durable_client: bool = True
    anonymous: bool = False
    admin: bool = False  # the host's master key only (an operator's act, such as issuing a link)
    content_types: tuple[str, ...] = ("application/json",)  # of the success answer
    tags: tuple[str, ...] = field(default=("workflows",))
    response: type[BaseModel] | None = None  # the success answer's shape (its one 2xx status), for OpenAPI
    headers: tuple[str, ...] = ()  # headers the success answer carries

    def resolved(self, prefix: str) -> str:
        """The route's path with the workflow API's prefix in it."""
        return self.path.replace("{prefix}", prefix)


def statuses(route: Route, *, keys_checked: bool) -> dict[int, str]:
    """Every status the route can answer: the handler's, and those of every route of its kind."""
    every: dict[int, str] = dict(route.responses)
    if keys_checked and not route.anonymous:
        key = f"the {'master' if route.admin else 'function'} key is missing or wrong (the host refuses)"
        every[401] = f"{key}; or: {every[401]}" if 401 in every else key
    if route.method != "GET":
        every.setdefault(403, "cross-origin request refused (the Origin header names another site)")
    if route.body != "none":
        every[413] = "the body is over the limit (WORKFLOW_MAX_BODY_BYTES, or the host's)"
    every[500] = "internal error: the answer names the route, the app's log has the details"
    return dict(sorted(every.items()))


def int_schema(low: int, high: int) -> dict[str, Any]:
    """An integer parameter from ``low`` to ``high``."""
    return {"type": "integer", "minimum": low, "maximum": high}


def bool_schema() -> dict[str, Any]:
    """A boolean parameter."""
    return {"type": "boolean"}  # true or false, spelled so


def enum_schema(*values: str) -> dict[str, Any]:
    """A parameter that is one of ``values``."""
    return {"type": "string", "enum": list(values)}


def pattern_schema(regex: str) -> dict[str, Any]:
    """A string parameter matching ``regex`` as a whole."""
    # JSON Schema patterns are ECMA-262 regexes: without the multiline flag, $ is the end of the value.
    return {"type": "string", "pattern": f"^{regex}$"}


INSTANCE = Param(
    "instanceId", "path", pattern_schema(INSTANCE_ID_PATTERN), "the run's instance id", required=True
)
REQUEST = Param("requestId", "path", {"type": "string"}, "the approval request id", required=True)
NAME = Param("name", "path", {"type": "string"}, "the workflow name", required=True)
TOKEN = Param(
    "token", "query", {"type": "string"}, "a respond link's token: its holder may answer that request"
)
