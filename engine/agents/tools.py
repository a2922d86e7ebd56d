"""Function tools: plain Python functions offered to the model.

A tool is a function (sync or async) whose type-annotated parameters become the JSON schema of its
arguments, through a pydantic model built from the signature; its docstring's first paragraph is the
description the model reads (``Annotated[T, Field(description=...)]`` describes a parameter). The schema
is strict (see ``schema.py``), so a parameter with a default is sent as nullable and ``null`` means "use
the default". A parameter annotated ``StepContext`` is not offered to the model: it receives the call's
context, whose ``idempotency_key`` is the call's own (the same on every retry and replay of that call),
so a tool with side effects can de-duplicate them.

Arguments that do not validate, and calls to unknown tools, are answered to the model as errors it can
correct, which costs it a round (``engine.agents.loop``). Exceptions raised by a tool are not swallowed:
they fail the call, which is tried again under its retry policy (``retry=``, else the agent's), and
fails the step when no attempt follows.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints

import pydantic_core
from pydantic import BaseModel, create_model

from engine.agents.schema import strict_json_schema
from engine.core.executor import StepContext
from engine.core.retry import RetryPolicy

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

ToolFunction = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Tool:
    """A function offered to the model. Make one with ``tool(fn)`` (or pass the function to ``Agent``)."""

    name: str
    description: str
    fn: ToolFunction
    arguments: type[BaseModel]
    context_parameter: str | None
    defaulted: frozenset[str]
    is_async: bool
    retry: RetryPolicy | None = None  # of each call of it (None: the agent's)

    def definition(self) -> dict[str, Any]:
        """The entry for the request's ``tools`` list."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": strict_json_schema(self.arguments),
                "strict": True,
            },
        }

    async def call(self, arguments: Mapping[str, Any], ctx: StepContext) -> Any:
        """Run the function with validated ``arguments`` (a sync one in a worker thread)."""
        kwargs = {k: v for k, v in arguments.items() if not (v is None and k in self.defaulted)}
        if self.context_parameter is not None:
            kwargs[self.context_parameter] = ctx
        if self.is_async:
            return await self.fn(**kwargs)
        return await asyncio.to_thread(self.fn, **kwargs)


def tool(
    fn: ToolFunction | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    retry: RetryPolicy | None = None,
) -> Any:
    """Make a ``Tool`` of a function: bare (``@tool``) or with options (``@tool(name=..., retry=...)``)."""

    def wrap(f: ToolFunction) -> Tool:
        return _build(f, name=name, description=description, retry=retry)

    return wrap(fn) if fn is not None else wrap


def as_tool(obj: Tool | ToolFunction) -> Tool:
    return obj if isinstance(obj, Tool) else _build(obj, name=None, description=None, retry=None)


def _build(fn: ToolFunction, *, name: str | None, description: str | None, retry: RetryPolicy | None) -> Tool:
    tool_name = name or getattr(fn, "__name__", "")
    if not _TOOL_NAME.fullmatch(tool_name):  # match's $ would let a trailing newline through
        raise ValueError(f"tool name {tool_name!r} must match {_TOOL_NAME.pattern}")
    hints = get_type_hints(fn, include_extras=True)
    fields: dict[str, Any] = {}
    defaulted: set[str] = set()
    context_parameter: str | None = None
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise TypeError(f"tool {tool_name!r}: parameter {param.name!r} must be passable by keyword")
        if param.name not in hints:
            raise TypeError(f"tool {tool_name!r}: annotate parameter {param.name!r} with its type")
        annotation = hints[param.name]
        if annotation is StepContext:
            context_parameter = param.name
        elif param.default is param.empty:
            fields[param.name] = (annotation, ...)
        else:
            defaulted.add(param.name)
            fields[param.name] = (annotation | None, None)
    arguments = create_model(f"{tool_name}_arguments", **fields)
    doc = description if description is not None else (inspect.getdoc(fn) or "").split("\n\n")[0].strip()
    tool_ = Tool(
        name=tool_name,
        description=doc or tool_name,
        fn=fn,
        arguments=arguments,
        context_parameter=context_parameter,
        defaulted=frozenset(defaulted),
        is_async=inspect.iscoroutinefunction(fn),
        retry=retry,
    )
    tool_.definition()  # fail now, at definition, if a parameter type has no strict schema
    return tool_


def tool_result_text(value: Any) -> str:
    """What the model reads back from a tool: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else pydantic_core.to_json(value).decode()
