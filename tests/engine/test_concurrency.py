"""Executors of one superstep run concurrently: shown by rendezvous, not by timing.

Each executor signals, then waits for a signal only its sibling gives. Run one after the other, the
first would wait in vain until the (generous) timeout and fail the run.
"""

import asyncio
import threading

from engine import InMemoryRunner, WorkflowBuilder, executor

WAIT = 5.0


async def test_async_executors_of_one_superstep_run_concurrently(runner: InMemoryRunner) -> None:
    left_ready, right_ready = asyncio.Event(), asyncio.Event()

    @executor
    def split(n: int) -> int:
        return n

    @executor
    async def left(n: int) -> str:
        left_ready.set()
        await asyncio.wait_for(right_ready.wait(), WAIT)
        return "left met right"

    @executor
    async def right(n: int) -> str:
        right_ready.set()
        await asyncio.wait_for(left_ready.wait(), WAIT)
        return "right met left"

    wf = WorkflowBuilder("async-pair", start=split).add_fan_out(split, [left, right]).build()
    result = await runner.run(wf, 0)

    assert result.status == "completed", result.error
    assert result.outputs == ["left met right", "right met left"]


async def test_sync_executors_of_one_superstep_run_in_threads_concurrently(runner: InMemoryRunner) -> None:
    left_ready, right_ready = threading.Event(), threading.Event()
    threads: set[int] = set()

    @executor
    def split(n: int) -> int:
        return n

    @executor
    def left(n: int) -> str:
        threads.add(threading.get_ident())
        left_ready.set()
        if not right_ready.wait(WAIT):
            raise TimeoutError("right never started")
        return "left met right"

    @executor
    def right(n: int) -> str:
        threads.add(threading.get_ident())
        right_ready.set()
        if not left_ready.wait(WAIT):
            raise TimeoutError("left never started")
        return "right met left"

    wf = WorkflowBuilder("sync-pair", start=split).add_fan_out(split, [left, right]).build()
    result = await runner.run(wf, 0)

    assert result.status == "completed", result.error
    assert result.outputs == ["left met right", "right met left"]
    assert len(threads) == 2
    assert threading.get_ident() not in threads  # the event loop's thread stayed free


async def test_mixed_sync_and_async_executors_run_concurrently(runner: InMemoryRunner) -> None:
    sync_ready = threading.Event()
    async_ready = threading.Event()

    @executor
    def split(n: int) -> int:
        return n

    @executor
    def blocking(n: int) -> str:
        sync_ready.set()
        if not async_ready.wait(WAIT):
            raise TimeoutError("the async sibling never ran")
        return "sync"

    @executor
    async def polite(n: int) -> str:
        async_ready.set()
        await asyncio.wait_for(asyncio.to_thread(sync_ready.wait, WAIT), WAIT + 1)
        assert sync_ready.is_set()
        return "async"

    wf = WorkflowBuilder("mixed-pair", start=split).add_fan_out(split, [blocking, polite]).build()
    result = await runner.run(wf, 0)
    assert result.status == "completed", result.error
    assert result.outputs == ["sync", "async"]
