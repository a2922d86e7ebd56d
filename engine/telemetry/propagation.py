"""W3C trace context in and out: a span's ``traceparent`` text, and the context a ``traceparent`` names."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
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


def derived_traceparent(instance_id: str) -> str:
    """A ``traceparent`` made from a run's instance id alone, for a run started without one."""
    digest = hashlib.sha256(f"workflow-run:{instance_id}".encode()).hexdigest()
    trace_id, span_id = digest[:32], digest[32:48]
    return f"00-{trace_id}-{span_id}-01"


def run_context(traceparent: str | None, instance_id: str) -> Context:
    """Where a durable run's episodes and steps hang: under its start's span, or, for a run started
    without one (through the management API, or by an orchestrator client of the app's own), under a
    parent derived from its instance id, so that run is still one trace, whichever process reports."""
    found = context_of(traceparent)
    if found is not None:
        return found
    derived = context_of(derived_traceparent(instance_id))
    assert derived is not None
    return derived


@contextmanager
def joined_run(traceparent: str | None, instance_id: str) -> Iterator[None]:
    """Spans started inside (an agent's ``chat`` and ``execute_tool``) hang under the durable run's
    trace, whatever context the host runs the activity in."""
    token = otel_context.attach(run_context(traceparent, instance_id))
    try:
        yield
    finally:
        otel_context.detach(token)
