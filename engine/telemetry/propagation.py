"""W3C trace context in and out: a span's ``traceparent`` text, and the context a ``traceparent`` names."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
TRACEPARENT = "traceparent"


def traceparent_of(span: Span) -> str | None:
    """The ``traceparent`` header value that makes a span the parent of work elsewhere."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get(TRACEPARENT)


def context_of(traceparent: str | None) -> Context | None:
    """The context whose span is the one ``traceparent`` names (None if absent or malformed).

    Built from an empty context, never the current one: what a message says its parent is must not
    depend on where it is read.
    """
    if not traceparent:
        return None
    context = _PROPAGATOR.extract({TRACEPARENT: traceparent}, context=Context())
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def context_from_headers(headers: Mapping[str, str]) -> Context | None:
    """The caller's trace context from HTTP headers (``traceparent``, ``tracestate``), if it sent one."""
    carrier = {k.lower(): v for k, v in headers.items() if k.lower() in ("traceparent", "tracestate")}
    if TRACEPARENT not in carrier:
        return None
    context = _PROPAGATOR.extract(carrier, context=Context())
    return context if trace.get_current_span(context).get_span_context().is_valid else None
