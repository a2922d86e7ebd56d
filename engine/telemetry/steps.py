"""A span and the metrics of one step attempt, around the executor's run.

The span is current while the executor runs, so an agent's model calls nest under it. A durable step's
parent is the run's, from the ``traceparent`` its request carries (or the instance id, for a run started
without one): whatever context the host runs the activity in is not consulted. An in-memory step's parent
is the run span it is handed.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode

from engine.telemetry import names
from engine.telemetry.propagation import run_context
from engine.telemetry.state import Telemetry, current


def step_span_name(workflow: str, executor: str, superstep: int, item: int, attempt: int) -> str:
    """The name of a step attempt's span."""
    return f"step {executor} ({workflow}, superstep {superstep}, item {item}, attempt {attempt})"


class StepTrace:
    """Enter around the attempt, call ``finished`` with how it ended, leave."""

    __slots__ = ("_end_ns", "_finished", "_metric_attributes", "_span", "_telemetry", "_token")

    def __init__(self, telemetry: Telemetry, span: Span, metric_attributes: dict[str, Any]) -> None:
        self._telemetry = telemetry
        self._span = span
        self._metric_attributes = metric_attributes
        self._token: Any = None
        self._finished = False
        self._end_ns: int | None = None

    def end_at(self, moment: datetime) -> None:
        """End the span at ``moment`` (a time recorded elsewhere) instead of when it is left."""
        self._end_ns = _ns(moment)

    def __enter__(self) -> StepTrace:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        self._telemetry.steps_started.add(1, self._metric_attributes)
        return self

    def finished(self, *, error_type: str | None, retried: bool, duration_ms: float) -> None:
        """Record how the attempt ended: its duration, its outcome on the span, and the failure metrics."""
        telemetry, span, attributes = self._telemetry, self._span, self._metric_attributes
        self._finished = True
        telemetry.step_duration.record(duration_ms / 1000, attributes)
        if error_type is None:
            span.set_attribute(names.OUTCOME, "succeeded")
            return
        span.set_attributes(
            {
                names.OUTCOME: "failed",
                names.ERROR_TYPE: error_type,
                names.RETRIED: retried,
            }
        )
        span.set_status(Status(StatusCode.ERROR, error_type))
        telemetry.steps_failed.add(1, {**attributes, names.ERROR_TYPE: error_type})
        if retried:
            telemetry.steps_retried.add(1, attributes)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        otel_context.detach(self._token)
        span = self._span
        if error is not None and not self._finished:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.set_attribute(names.ERROR_TYPE, type(error).__name__)
        span.end(end_time=self._end_ns)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


class _Off:
    """What ``step_trace`` returns when telemetry is off: every call does nothing."""

    __slots__ = ()

    def __enter__(self) -> _Off:
        return self

    def finished(self, *, error_type: str | None, retried: bool, duration_ms: float) -> None:
        return None

    def end_at(self, moment: datetime) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


OFF = _Off()


def step_trace(
    *,
    workflow: str,
    instance_id: str,
    executor: str,
    superstep: int,
    item: int,
    attempt: int,
    idempotency_key: str | None = None,
    version: str | None = None,
    traceparent: str | None = None,
    durable: bool = False,
    parent: Context | None = None,
    started: datetime | None = None,
) -> StepTrace | _Off:
    """The attempt's span and metrics. A durable step's parent is the run's (``run_context``); an
    in-memory step's is ``parent``, else the current span."""
    telemetry = current()
    if telemetry is None:
        return OFF
    attributes: dict[str, Any] = {
        names.WORKFLOW: workflow,
        names.INSTANCE: instance_id,
        names.EXECUTOR: executor,
        names.SUPERSTEP: superstep,
        names.ITEM: item,
        names.ATTEMPT: attempt,
    }
    if idempotency_key is not None:
        attributes[names.IDEMPOTENCY_KEY] = idempotency_key
    if version is not None:
        attributes[names.VERSION] = version
    span = telemetry.tracer.start_span(
        step_span_name(workflow, executor, superstep, item, attempt),
        context=run_context(traceparent, instance_id) if durable else parent,
        attributes=attributes,
        start_time=_ns(started) if started is not None else None,
    )
    return StepTrace(telemetry, span, {names.WORKFLOW: workflow, names.EXECUTOR: executor})


def finished_step(
    *,
    workflow: str,
    instance_id: str,
    executor: str,
    superstep: int,
    item: int,
    attempt: int,
    started: datetime,
    ended: datetime,
    error_type: str | None,
    idempotency_key: str | None = None,
    version: str | None = None,
    traceparent: str | None = None,
) -> None:
    """The span and metrics of a step attempt that ran as an orchestration of its own (an agent step),
    reported once it has ended, with the times its orchestration's clock gave. Its calls report their
    own spans (``chat``, ``execute_tool``) in the activities that made them, beside it under the run."""
    telemetry = current()
    if telemetry is None:
        return
    traced = step_trace(
        workflow=workflow,
        instance_id=instance_id,
        executor=executor,
        superstep=superstep,
        item=item,
        attempt=attempt,
        idempotency_key=idempotency_key,
        version=version,
        traceparent=traceparent,
        durable=True,
        started=started,
    )
    with traced:
        duration_ms = max((ended - started).total_seconds() * 1000, 0.0)
        traced.finished(error_type=error_type, retried=False, duration_ms=duration_ms)
        traced.end_at(ended)
