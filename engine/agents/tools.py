"""Function tools: plain Python functions offered to the model, and the bounded tool-call loop.

A tool is a function (sync or async) whose type-annotated parameters become the JSON schema of its
arguments, through a pydantic model built from the signature; its docstring's first paragraph is the
description the model reads (``Annotated[T, Field(description=...)]`` describes a parameter). The schema
is strict (see ``schema.py``), so a parameter with a default is sent as nullable and ``null`` means "use
the default". A parameter annotated ``StepContext`` is not offered to the model: it receives the step's
context, whose ``idempotency_key`` lets a tool with side effects de-duplicate them across retries.

Arguments that do not validate, and calls to unknown tools, are answered to the model as errors it can
correct, which costs it a round. Exceptions raised by a tool are not swallowed: they fail the step, and
its retry policy decides what happens next.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_type_hints

import pydantic_core
from openai.types.chat.chat_completion import Choice
from pydantic import BaseModel, ValidationError, create_model

from engine.agents.errors import AgentRef, AgentToolLoopError
from engine.agents.schema import strict_json_schema
from engine.core.executor import StepContext

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


def tool(fn: ToolFunction | None = None, *, name: str | None = None, description: str | None = None) -> Any:
    """Make a ``Tool`` of a function; usable bare (``@tool``) or with a name/description (``@tool(...)``)."""

    def wrap(f: ToolFunction) -> Tool:
        return _build(f, name=name, description=description)

    return wrap(fn) if fn is not None else wrap


def as_tool(obj: Tool | ToolFunction) -> Tool:
    return obj if isinstance(obj, Tool) else _build(obj, name=None, description=None)


def _build(fn: ToolFunction, *, name: str | None, description: str | None) -> Tool:
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
    )
    tool_.definition()  # fail now, at definition, if a parameter type has no strict schema
    return tool_


def tool_result_text(value: Any) -> str:
    """What the model reads back from a tool: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else pydantic_core.to_json(value).decode()


Send = Callable[[list[dict[str, Any]]], Awaitable[Choice]]


async def run_tool_loop(
    send: Send,
    messages: list[dict[str, Any]],
    tools: Sequence[Tool],
    *,
    max_rounds: int,
    ref: AgentRef,
    ctx: StepContext,
) -> Choice:
    """Ask, run the tools the model calls, answer them, ask again; return the first choice with no calls.

    ``max_rounds`` bounds the rounds of tool calls, so a model that never stops calling tools fails the
    step (``AgentToolLoopError``) instead of spending tokens for ever. ``messages`` grows in place.
    """
    by_name = {t.name: t for t in tools}
    rounds = 0
    while True:
        choice = await send(messages)
        message = choice.message
        calls = message.tool_calls or []
        if not calls:
            return choice
        if rounds == max_rounds:
            names = ", ".join(sorted({_call_name(c) for c in calls}))
            raise AgentToolLoopError(
                ref,
                f"the model was still calling tools ({names}) after max_tool_rounds={max_rounds} rounds; "
                "raise max_tool_rounds or make the instructions say when to answer",
            )
        rounds += 1
        messages.append(
            {
                "role": "assistant",
                "content": message.content,
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": _call_name(c), "arguments": _call_arguments(c)},
                    }
                    for c in calls
                ],
            }
        )
        results = await _answer_all(calls, by_name, ctx)
        messages.extend(
            {"role": "tool", "tool_call_id": c.id, "content": r} for c, r in zip(calls, results, strict=True)
        )


async def _answer_all(calls: Sequence[Any], by_name: Mapping[str, Tool], ctx: StepContext) -> list[str]:
    """Run one round's calls concurrently (the model issued them together, so they are independent).

    The first failure propagates as itself (not wrapped in an ExceptionGroup, as a TaskGroup would), so a
    tool's TransientError or NonRetryableError reaches the runner's retry decision intact; the calls
    still running are cancelled.
    """
    tasks = [asyncio.ensure_future(_answer(c, by_name, ctx)) for c in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        raise


async def _answer(call: Any, by_name: Mapping[str, Tool], ctx: StepContext) -> str:
    name = _call_name(call)
    target = by_name.get(name)
    if target is None:
        available = ", ".join(sorted(by_name)) or "none"
        return f"error: there is no tool named {name!r}; available tools: {available}"
    try:
        parsed = target.arguments.model_validate_json(_call_arguments(call) or "{}")
    except ValidationError as err:
        return f"error: invalid arguments for tool {name!r}: {_brief(err)}"
    arguments = {field: getattr(parsed, field) for field in type(parsed).model_fields}
    ctx.logger.debug("agent tool call %s", name)
    return tool_result_text(await target.call(arguments, ctx))


def _call_name(call: Any) -> str:
    function = getattr(call, "function", None)
    return function.name if function is not None else getattr(getattr(call, "custom", None), "name", "?")


def _call_arguments(call: Any) -> str:
    function = getattr(call, "function", None)
    return function.arguments if function is not None else ""


def _brief(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in err.errors()[:5])
