"""The runner's unvalidated event constructor builds exactly what validation builds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine import InMemoryRunner, ManualClock, RunResult, StepContext, Workflow, WorkflowBuilder, executor
from engine.core.events import RunEvent, make_event

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("run_started", {}),
        ("superstep_started", {"superstep": 1, "data": {"executors": ["a", "b"]}}),
        ("executor_completed", {"superstep": 2, "executor_id": "x", "attempt": 1, "duration_ms": 1.5}),
        ("executor_failed", {"superstep": 2, "executor_id": "x", "attempt": 2, "error": "E: boom"}),
        ("approval_requested", {"superstep": 3, "executor_id": "ok", "request_id": "r1", "data": None}),
        ("executor_completed", {"duration_ms": 3}),  # an int: takes the validating path
        ("run_completed", {"at_least": 1}),  # unknown field: validation decides (ignores it)
    ],
)
def test_make_event_equals_validated_event(kind: str, fields: dict) -> None:
    fast, slow = make_event(kind, NOW, fields), RunEvent(kind=kind, at=NOW, **fields)  # type: ignore[arg-type]
    assert fast == slow and repr(fast) == repr(slow)
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump_json() == slow.model_dump_json()
    if fields.get("data") is not None:
        assert fast.data is not fields["data"]  # copied, as validation copies it


def _annotating_workflow() -> Workflow:
    @executor(id="first")
    async def first(x: int, ctx: StepContext) -> int:
        ctx.annotate(model="m", tokens=x)
        return x + 1

    @executor(id="second")
    async def second(x: int) -> int:
        return x * 2

    return WorkflowBuilder("lazy_events", start=first).add_edge(first, second).build()


async def test_run_result_events_read_lazily_equal_streamed_events() -> None:
    workflow = _annotating_workflow()
    runner = InMemoryRunner(clock=ManualClock(NOW))
    result = await runner.run(workflow, 1, instance_id="i")
    stream = runner.stream(workflow, 1, instance_id="i")
    streamed = [e async for e in stream]
    assert stream.result is not None
    events = result.events
    assert all(type(e) is RunEvent for e in events)
    # durations differ run to run; everything else is the same as the streamed (eagerly built) events
    strip = [e.model_copy(update={"duration_ms": None}) for e in events]
    assert strip == [e.model_copy(update={"duration_ms": None}) for e in streamed]
    assert result.events is events  # built once, then kept
    completed = [e for e in events if e.kind == "executor_completed"]
    assert completed[0].data == {"model": "m", "tokens": 1} and completed[1].data is None
    dumped = result.model_dump()
    assert dumped["events"] == [e.model_dump() for e in events]
    again = RunResult.model_validate_json(result.model_dump_json())
    assert again == result and again.events == events
    assert RunResult(**{**dumped, "events": [e.model_dump() for e in events]}) == result
    with pytest.raises(ValueError, match="events"):
        RunResult.model_validate({k: v for k, v in dumped.items() if k != "events"})
