"""stream() and stream_resume(): events as they happen, in order; ``result`` once iteration ends."""

import asyncio

from engine import Approval, InMemoryRunner, RunEvent, WorkflowBuilder, executor
from tests.engine.helpers import kinds

WAIT = 5.0


async def test_events_arrive_while_the_run_is_still_going(runner: InMemoryRunner) -> None:
    """``second`` waits until the consumer has *received* first's completion: proof of live delivery."""
    consumer_saw_first_done = asyncio.Event()

    @executor
    async def first(n: int) -> int:
        return n + 1

    @executor
    async def second(n: int) -> int:
        await asyncio.wait_for(consumer_saw_first_done.wait(), WAIT)
        return n + 1

    wf = WorkflowBuilder("live", start=first).add_edge(first, second).build()
    stream = runner.stream(wf, 0)
    assert stream.result is None

    received: list[RunEvent] = []
    async for event in stream:
        received.append(event)
        if event.kind == "executor_completed" and event.executor_id == "first":
            consumer_saw_first_done.set()

    assert stream.result is not None
    assert stream.result.status == "completed", stream.result.error
    assert stream.result.outputs == [2]
    assert received == stream.result.events
    assert kinds(received) == [
        "run_started",
        "superstep_started",
        "executor_started",
        "executor_completed",
        "superstep_completed",
        "superstep_started",
        "executor_started",
        "executor_completed",
        "superstep_completed",
        "run_completed",
    ]
    assert [e.superstep for e in received if e.kind.startswith("executor")] == [1, 1, 2, 2]


async def test_started_comes_before_completed_for_every_executor(runner: InMemoryRunner) -> None:
    @executor
    def split(n: int) -> int:
        return n

    @executor
    async def a(n: int) -> int:
        await asyncio.sleep(0)
        return n

    @executor
    def b(n: int) -> int:
        return n

    wf = WorkflowBuilder("order", start=split).add_fan_out(split, [a, b]).build()
    stream = runner.stream(wf, 1)
    received = [e async for e in stream]

    assert received[0].kind == "run_started"
    assert received[-1].kind == "run_completed"
    for name in ("split", "a", "b"):
        positions = {e.kind: i for i, e in enumerate(received) if e.executor_id == name}
        assert positions["executor_started"] < positions["executor_completed"]
    assert stream.result is not None and stream.result.outputs == [1, 1]


async def test_stream_of_a_failing_run(runner: InMemoryRunner) -> None:
    @executor
    def broken(n: int) -> int:
        raise RuntimeError("nope")

    stream = runner.stream(WorkflowBuilder("broken", start=broken).build(), 1)
    received = [e async for e in stream]
    assert kinds(received)[-2:] == ["executor_failed", "run_failed"]
    assert stream.result is not None
    assert stream.result.status == "failed"
    assert stream.result.error is not None and stream.result.error.message == "nope"


async def test_stream_resume(runner: InMemoryRunner) -> None:
    @executor
    def ask(n: int) -> int:
        return n

    gate = Approval("gate", request=int)

    @executor
    def after(o: object) -> str:
        return "through"

    wf = WorkflowBuilder("gated", start=ask).add_edge(ask, gate).add_edge(gate, after).build()
    first = runner.stream(wf, 1)
    first_events = [e async for e in first]
    assert kinds(first_events)[-1] == "run_waiting"
    assert first.result is not None and first.result.status == "waiting_for_approval"

    resumed = runner.stream_resume(first.result.state, {"gate-s2-0": {"approved": True}}, workflow=wf)
    received = [e async for e in resumed]
    assert kinds(received)[:2] == ["run_resumed", "approval_answered"]
    assert received[1].request_id == "gate-s2-0"
    assert kinds(received)[-1] == "run_completed"
    assert resumed.result is not None and resumed.result.outputs == ["through"]
