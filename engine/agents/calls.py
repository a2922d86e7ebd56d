"""An agent step's calls, made: a model call (a provider, or the offline model), a tool call (a Python
function, or an MCP server's tool), the listing of an MCP server's tools.

These are the only side effects of an agent step (``engine.agents.loop`` decides, these do). Each is one
attempt: a failure raises (``AgentTransientError``, ``McpServerError``: worth another attempt, under
the call's retry policy; the agent's other errors are not), and ``engine.core.execution.run_call``
records it. A tool call runs with a ``StepContext`` whose ``idempotency_key`` is the call's own, and
reports a gen_ai ``execute_tool`` span; a model call a ``chat`` span.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from openai import OpenAIError

from engine.agents.chat import Usage, complete
from engine.agents.errors import (
    AgentConfigurationError,
    AgentOutputError,
    AgentRef,
    ProviderConfigurationError,
)
from engine.agents.loop_state import ModelReply
from engine.agents.mcp import McpServer
from engine.agents.offline import OfflineSchemaError, offline_model
from engine.agents.offline_stream import stream_offline
from engine.agents.providers import OfflineProvider, Provider, client_for, provider_from_env
from engine.agents.tools import Tool, tool_result_text
from engine.core.executor import StepContext
from engine.core.loop_calls import CallResult
from engine.core.streams import StreamWriter, stream_step, stream_store
from engine.telemetry.genai import chat_trace, tool_trace

if TYPE_CHECKING:
    from pydantic import BaseModel

SHOWN_CHARS = 2_000  # of a tool's answer or the model's text, in the views


class ModelSettings:
    """What a model call sends besides the conversation: the agent's settings."""

    def __init__(
        self,
        agent_id: str,
        *,
        model: str | None,
        temperature: float | None,
        timeout: timedelta,
        response_format: dict[str, Any],
        output_type: type[BaseModel],
    ) -> None:
        self.agent_id = agent_id
        self.model = model
        self.temperature = temperature
        self.timeout = timeout
        self.response_format = response_format
        self.output_type = output_type

    def resolved(self, provider: Provider | None) -> tuple[Provider, str]:
        """The provider (the agent's, else the environment's, read now) and the model to call."""
        if provider is None:
            try:
                provider = provider_from_env()
            except ProviderConfigurationError as err:
                raise AgentConfigurationError(AgentRef(self.agent_id, self.model), str(err)) from err
        if isinstance(provider, OfflineProvider):
            return provider, provider.model
        model = self.model or provider.model
        if not model:
            variable = "AZURE_OPENAI_DEPLOYMENT" if provider.kind == "azure" else "OPENAI_MODEL"
            raise AgentConfigurationError(
                AgentRef(self.agent_id, None),
                f"no model to call: {provider.describe()}; set {variable} or pass model= to the agent",
            )
        return provider, model


def call_stream(ctx: StepContext) -> StreamWriter:
    """The stream a model call's attempt writes: the step's, named for this call and attempt."""
    return StreamWriter(
        stream_store(),
        ctx.instance_id,
        stream_step(ctx.executor_id, ctx.execution),
        f"{ctx.idempotency_key}/{ctx.attempt}",
    )


async def model_call(
    settings: ModelSettings, provider: Provider | None, payload: Mapping[str, Any], ctx: StepContext
) -> CallResult:
    """One model call with the conversation and tools of ``payload`` (``{"messages", "tools"}``), to the
    agent's ``provider`` (None: the environment's), its text streamed to the step's stream as it comes."""
    provider, model = settings.resolved(provider)
    messages: list[dict[str, Any]] = list(payload["messages"])
    tools: list[dict[str, Any]] = list(payload.get("tools") or [])
    writer = call_stream(ctx)
    try:
        if isinstance(provider, OfflineProvider):
            reply = await _offline(settings, messages, tools, writer)
        else:
            reply = await _online(settings, provider, model, messages, tools, writer)
    except Exception:
        await writer.close()  # the attempt failed and ends here (a retry writes a new attempt)
        raise
    # Not on cancellation (the host stopping mid-call): the call runs again as this same attempt and goes
    # on writing this stream, so it must not be marked done to its readers.
    await writer.close()
    shown: dict[str, Any] = {
        "model": reply.model,
        "messages": len(messages),
        "finish_reason": reply.finish_reason,
        "tokens": {
            "prompt": reply.prompt_tokens,
            "completion": reply.completion_tokens,
            "total": reply.total_tokens,
        },
        "result": _cut(reply.content) if reply.content else None,
        "tool_calls": [{"name": c["name"], "arguments": _cut(c["arguments"])} for c in reply.tool_calls],
    }
    return CallResult(reply.model_dump(mode="json"), shown)


async def _offline(
    settings: ModelSettings, messages: list[dict[str, Any]], tools: list[dict[str, Any]], writer: StreamWriter
) -> ModelReply:
    started = time.perf_counter()
    with chat_trace(provider="offline", model="offline", agent=settings.agent_id) as trace:
        try:
            said = offline_model().reply(messages, tools, settings.output_type)
        except OfflineSchemaError as err:
            ref = AgentRef(settings.agent_id, "offline")
            name = settings.output_type.__name__
            raise AgentOutputError(ref, f"the offline model cannot answer with {name}: {err}") from err
        await stream_offline(said["content"], writer)
        trace.answered(
            response_id=None,
            response_model="offline",
            finish_reasons=[said["finish_reason"]],
            input_tokens=None,
            output_tokens=None,
        )
    return ModelReply(
        content=said["content"],
        tool_calls=said["tool_calls"],
        finish_reason=said["finish_reason"],
        model="offline",
        provider="offline",
        latency_ms=round((time.perf_counter() - started) * 1000),
    )


async def _online(
    settings: ModelSettings,
    provider: Provider,
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    writer: StreamWriter,
) -> ModelReply:
    ref = AgentRef(settings.agent_id, model)
    assert not isinstance(provider, OfflineProvider)
    try:
        client = client_for(provider)
    except (ProviderConfigurationError, OpenAIError) as err:
        raise AgentConfigurationError(ref, str(err)) from err
    request: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "response_format": settings.response_format,
    }
    if settings.temperature is not None:
        request["temperature"] = settings.temperature
    if tools:
        request["tools"] = tools
    usage = Usage(model=model, provider=provider.kind)
    completion = await complete(
        client, request, timeout=settings.timeout, ref=ref, usage=usage, writer=writer
    )
    if not completion.choices:
        raise AgentOutputError(ref, "the model service returned no choices")
    choice = completion.choices[0]
    message = choice.message
    calls = [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
        for c in message.tool_calls or []
        if getattr(c, "function", None) is not None
    ]
    return ModelReply(
        content=message.content,
        refusal=message.refusal,
        tool_calls=calls,
        finish_reason=choice.finish_reason,
        model=model,
        provider=provider.kind,
        prompt_tokens=usage.prompt_tokens if completion.usage else None,
        completion_tokens=usage.completion_tokens if completion.usage else None,
        total_tokens=usage.total_tokens if completion.usage else None,
        latency_ms=sum(usage.latency_ms),
    )


async def tool_call(
    agent_id: str,
    payload: Mapping[str, Any],
    ctx: StepContext,
    functions: Mapping[str, Tool],
    servers: Sequence[McpServer],
) -> CallResult:
    """One tool call (``{"tool", "arguments", "source", "server"}``); its answer as the model reads it."""
    name = str(payload["tool"])
    arguments: dict[str, Any] = dict(payload.get("arguments") or {})
    source = payload.get("source", "function")
    server = servers[int(payload["server"])] if source == "mcp" else None
    with tool_trace(
        name=name, agent=agent_id, call_id=ctx.idempotency_key, kind="extension" if server else "function"
    ):
        if server is not None:
            text, erred = await server.call(name, arguments, ctx.idempotency_key)
        else:
            made = functions[name]
            parsed = made.arguments.model_validate(arguments)
            values = {field: getattr(parsed, field) for field in type(parsed).model_fields}
            text, erred = tool_result_text(await made.call(values, ctx)), False
    shown = {
        "arguments": arguments,
        "result": _cut(text),
        "error": erred,
        "idempotency_key": ctx.idempotency_key,
    }
    return CallResult(text, shown)


async def list_tools(server: McpServer) -> CallResult:
    """The server's tools as the loop keeps them (name, description, input schema), all of them."""
    listed = await server.list_tools()
    tools = [
        {"name": t.name, "description": t.description or "", "inputSchema": t.inputSchema} for t in listed
    ]
    return CallResult(tools, {"server": server.label, "tools": [t["name"] for t in tools]})


def _cut(text: str | None) -> str | None:
    if text is None or len(text) <= SHOWN_CHARS:
        return text
    return text[:SHOWN_CHARS] + "…"


__all__ = ["ModelSettings", "list_tools", "model_call", "tool_call"]
