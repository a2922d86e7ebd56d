"""The span of a run's start over HTTP, whose ``traceparent`` the run keeps, and the in-memory run span."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from engine.telemetry import names
from engine.telemetry.approvals import approval_closed, approval_opened
from engine.telemetry.propagation import context_from_headers, traceparent_of
from engine.telemetry.state import Telemetry, current


class RunStart:
    """``with run_start(...) as start``: ``start.traceparent`` goes into the run's input (None when
    telemetry is off); ``start.started(instance_id)`` once the host has the run."""

    __slots__ = ("_span", "traceparent")

    def __init__(self, span: Span | None) -> None:
        self._span = span
        self.traceparent = traceparent_of(span) if span is not None else None

    def __enter__(self) -> RunStart:
        return self

    def started(self, instance_id: str) -> None:
        """Name the instance the host started on the span."""
        if self._span is not None:
            self._span.set_attribute(names.INSTANCE, instance_id)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        span = self._span
        if span is None:
            return
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()


def run_start(workflow: str, version: str | None, headers: Mapping[str, str]) -> RunStart:
    """The root span of a durable run: a child of the caller's ``traceparent`` header if it sent one."""
    telemetry = current()
    if telemetry is None:
        return RunStart(None)
    attributes: dict[str, Any] = {names.WORKFLOW: workflow}
    if version is not None:
        attributes[names.VERSION] = version
    span = telemetry.tracer.start_span(
        f"start workflow {workflow}",
        context=context_from_headers(headers),
        kind=SpanKind.SERVER,
        attributes=attributes,
    )
    return RunStart(span)


class RunTrace:
    """The in-memory runner's span of one ``run`` or ``resume`` call: steps nest under it, approvals are
    its events."""

    __slots__ = ("_span", "_telemetry", "context", "workflow")

    def __init__(self, telemetry: Telemetry, span: Span, workflow: str) -> None:
        self._telemetry, self._span, self.workflow = telemetry, span, workflow
        # Handed to the step spans as their parent rather than attached: nothing of the run's context
        # stays behind in the caller's if a run ends by an exception.
        self.context = trace.set_span_in_context(span)

    def approval_opened(self, approval_id: str, request_id: str, deadline: datetime | None) -> None:
        """An approval request of the run opening, as an event of the run span."""
        approval_opened(
            self._telemetry,
            self._span,
            workflow=self.workflow,
            approval_id=approval_id,
            request_id=request_id,
            deadline=deadline,
        )

    def approval_closed(
        self, approval_id: str, request_id: str, *, outcome: str, via: str, decided_by: str | None
    ) -> None:
        """An approval request of the run closing, as an event of the run span."""
        approval_closed(
            self._telemetry,
            self._span,
            workflow=self.workflow,
            approval_id=approval_id,
            request_id=request_id,
            outcome=outcome,
            via=via,
            decided_by=decided_by,
        )

    def end(self, status: str, error_type: str | None) -> None:
        """End the run span with the run's status (an error status naming ``error_type`` when it failed)."""
        span = self._span
        span.set_attribute(names.RUN_STATUS, status)
        if error_type is not None:
            span.set_status(Status(StatusCode.ERROR, error_type))
            span.set_attribute(names.ERROR_TYPE, error_type)
        span.end()


def run_trace(workflow: str, instance_id: str, *, resumed: bool) -> RunTrace | None:
    """The span of one in-memory ``run`` or ``resume``; None when telemetry is off."""
    telemetry = current()
    if telemetry is None:
        return None
    span = telemetry.tracer.start_span(
        f"{'resume' if resumed else 'run'} workflow {workflow}",
        attributes={names.WORKFLOW: workflow, names.INSTANCE: instance_id},
    )
    return RunTrace(telemetry, span, workflow)
