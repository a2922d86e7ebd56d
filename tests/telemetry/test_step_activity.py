"""The step activity's span joins the run's trace through the request's ``traceparent`` alone: under an
empty OpenTelemetry context, and whatever context the host happens to run the activity in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider

from engine.durable.step_activity import run_step
from engine.durable.step_messages import StepFailedForGood, StepRequest
from engine.telemetry.propagation import derived_traceparent
from tests.telemetry.conftest import Exporting
from tests.telemetry.workflows import workflow

RUN_TRACE, RUN_SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
TRACEPARENT = f"00-{RUN_TRACE}-{RUN_SPAN}-01"
ORDER = {"order_id": "A-1", "amount": 100.0}


def _request(executor: str, *, attempt: int = 1, traceparent: str | None = TRACEPARENT) -> dict[str, object]:
    return StepRequest(
        workflow="tm_traced",
        executor=executor,
        instance_id="run-7",
        superstep=2,
        ordinal=0,
        attempt=attempt,
        idempotency_key="k-7",
        message=ORDER,
        traceparent=traceparent,
    ).model_dump(mode="json")


@contextmanager
def _within(context: Context) -> Iterator[None]:
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)


async def test_under_an_empty_context_a_step_joins_the_trace_its_request_names(exporting: Exporting) -> None:
    with _within(Context()):
        await run_step({"tm_traced": workflow}, _request("check_stock"))
    [span] = exporting.flush().spans
    assert (span.trace_id, span.parent_id) == (RUN_TRACE, RUN_SPAN)
    assert span.name == "step check_stock (tm_traced, superstep 2, item 0, attempt 1)"
    assert span.attributes["workflow.instance_id"] == "run-7"
    assert span.attributes["workflow.step.idempotency_key"] == "k-7"


async def test_the_context_the_host_runs_the_activity_in_is_not_the_parent(exporting: Exporting) -> None:
    host = TracerProvider().get_tracer("host").start_span("host invocation")
    with _within(trace.set_span_in_context(host)):
        await run_step({"tm_traced": workflow}, _request("check_stock"))
    host.end()
    [span] = exporting.flush().spans
    assert (span.trace_id, span.parent_id) == (RUN_TRACE, RUN_SPAN)


async def test_without_a_traceparent_the_run_is_still_one_trace(exporting: Exporting) -> None:
    # A run started without one (the management API, an orchestrator client of the app's own): its
    # steps share a trace made from the instance id alone, the same in every process.
    with _within(Context()):
        await run_step({"tm_traced": workflow}, _request("check_stock", traceparent=None))
        await run_step({"tm_traced": workflow}, _request("check_fraud", attempt=2, traceparent=None))
    spans = exporting.flush().spans
    assert len(spans) == 2 and len({(s.trace_id, s.parent_id) for s in spans}) == 1
    derived = derived_traceparent("run-7")
    assert derived == f"00-{spans[0].trace_id}-{spans[0].parent_id}-01"
    assert derived_traceparent("run-8") != derived


async def test_a_failed_attempt_says_whether_another_follows(exporting: Exporting) -> None:
    with _within(Context()):
        retried = await run_step({"tm_traced": workflow}, _request("check_fraud"))
        assert retried["ok"] is False
        with pytest.raises(StepFailedForGood):
            await run_step({"tm_traced": workflow}, _request("missing_executor"))
    received = exporting.flush()
    by_name = {s.attributes["workflow.executor.id"]: s for s in received.spans}
    assert by_name["check_fraud"].attributes["workflow.step.retried"] is True
    assert by_name["check_fraud"].status == 2
    assert by_name["missing_executor"].attributes["error.type"] == "UnknownExecutor"
    assert by_name["missing_executor"].attributes["workflow.step.retried"] is False
    assert received.total("workflow.steps.retried") == 1
    assert received.total("workflow.steps.failed") == 2
