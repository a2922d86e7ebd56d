"""Agent calls as the OpenTelemetry gen_ai conventions describe them: a model call is a ``chat {model}``
client span with provider, models, response id, finish reasons and token usage (and the two gen_ai client
metrics); a tool call an ``execute_tool {tool}`` internal span with the tool's name, type and call id."""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from engine.telemetry import names
from engine.telemetry.state import Telemetry, current


class ChatTrace:
    """``with chat_trace(...) as call``: ``call.answered(...)`` with what the service said."""

    __slots__ = ("_metric_attributes", "_span", "_started", "_telemetry", "_token")

    def __init__(self, telemetry: Telemetry, span: Span, metric_attributes: dict[str, Any]) -> None:
        self._telemetry, self._span, self._metric_attributes = telemetry, span, metric_attributes
        self._token: Any = None
        self._started = 0.0

    def __enter__(self) -> ChatTrace:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        self._started = time.perf_counter()
        return self

    def answered(
        self,
        *,
        response_id: str | None,
        response_model: str | None,
        finish_reasons: Sequence[str],
        input_tokens: int | None,
        output_tokens: int | None,
    ) -> None:
        """Record what the service answered on the span, and the token usage and duration metrics."""
        span, attributes = self._span, self._metric_attributes
        found: dict[str, Any] = {names.GEN_AI_FINISH_REASONS: list(finish_reasons)}
        if response_id:
            found[names.GEN_AI_RESPONSE_ID] = response_id
        if response_model:
            found[names.GEN_AI_RESPONSE_MODEL] = response_model
            attributes[names.GEN_AI_RESPONSE_MODEL] = response_model
        for kind, key, count in (
            ("input", names.GEN_AI_INPUT_TOKENS, input_tokens),
            ("output", names.GEN_AI_OUTPUT_TOKENS, output_tokens),
        ):
            if count is not None:
                found[key] = count
                self._telemetry.token_usage.record(count, {**attributes, names.GEN_AI_TOKEN_TYPE: kind})
        span.set_attributes(found)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        otel_context.detach(self._token)
        span, attributes = self._span, self._metric_attributes
        if error is not None:
            error_type = type(error).__name__
            attributes = {**attributes, names.ERROR_TYPE: error_type}
            span.set_attribute(names.ERROR_TYPE, error_type)
            span.set_status(Status(StatusCode.ERROR, str(error)[:300]))
        self._telemetry.model_duration.record(time.perf_counter() - self._started, attributes)
        span.end()


class _Off:
    __slots__ = ()

    def __enter__(self) -> _Off:
        return self

    def answered(self, **_: Any) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


OFF = _Off()


def chat_trace(
    *,
    provider: str,
    model: str,
    agent: str | None = None,
    temperature: float | None = None,
    server_address: str | None = None,
    server_port: int | None = None,
) -> ChatTrace | _Off:
    """``provider``: the agents' provider kind (``openai``, ``azure``)."""
    telemetry = current()
    if telemetry is None:
        return OFF
    provider_name, system = names.GEN_AI_PROVIDERS.get(provider, (provider, provider))
    metric_attributes: dict[str, Any] = {
        names.GEN_AI_OPERATION: "chat",
        names.GEN_AI_PROVIDER: provider_name,
        names.GEN_AI_SYSTEM: system,
        names.GEN_AI_REQUEST_MODEL: model,
    }
    attributes = dict(metric_attributes)
    if agent is not None:
        attributes[names.GEN_AI_AGENT_NAME] = agent
    if temperature is not None:
        attributes[names.GEN_AI_REQUEST_TEMPERATURE] = temperature
    if server_address:
        attributes[names.SERVER_ADDRESS] = server_address
        metric_attributes[names.SERVER_ADDRESS] = server_address
    if server_port:
        attributes[names.SERVER_PORT] = server_port
    span = telemetry.tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes)
    return ChatTrace(telemetry, span, metric_attributes)


class ToolTrace:
    """``with tool_trace(...)``: the span of one tool call, current while the tool runs."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: Span) -> None:
        self._span = span
        self._token: Any = None

    def __enter__(self) -> ToolTrace:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        otel_context.detach(self._token)
        if error is not None:
            self._span.set_attribute(names.ERROR_TYPE, type(error).__name__)
            self._span.set_status(Status(StatusCode.ERROR, str(error)[:300]))
        self._span.end()


def tool_trace(
    *, name: str, agent: str | None, call_id: str | None, kind: str = "function"
) -> ToolTrace | _Off:
    """``kind``: ``function`` (a Python function) or ``extension`` (an MCP server's tool)."""
    telemetry = current()
    if telemetry is None:
        return OFF
    attributes: dict[str, Any] = {
        names.GEN_AI_OPERATION: "execute_tool",
        names.GEN_AI_TOOL_NAME: name,
        names.GEN_AI_TOOL_TYPE: kind,
    }
    if call_id:
        attributes[names.GEN_AI_TOOL_CALL_ID] = call_id
    if agent is not None:
        attributes[names.GEN_AI_AGENT_NAME] = agent
    span = telemetry.tracer.start_span(f"execute_tool {name}", kind=SpanKind.INTERNAL, attributes=attributes)
    return ToolTrace(span)
