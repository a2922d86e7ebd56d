"""A cancelled in-memory run leaves no step of its superstep running: every step task is cancelled."""

from __future__ import annotations

import asyncio

from engine import InMemoryRunner, WorkflowBuilder, executor


async def test_cancelling_a_run_cancels_every_step_of_its_superstep(runner: InMemoryRunner) -> None:
    started: list[int] = []
    cancelled: list[int] = []
    all_started = asyncio.Event()
    never = asyncio.Event()

    @executor
    async def numbers(n: int) -> list[int]:
        return list(range(n))

    @executor
    async def wait_forever(i: int) -> int:
        started.append(i)
        if len(started) == 5:
            all_started.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        return i

    @executor
    async def total(parts: list[int]) -> int:
        return sum(parts)

    wf = WorkflowBuilder("cancel-map", start=numbers).add_map(numbers, wait_forever, collect=total).build()
    run = asyncio.ensure_future(runner.run(wf, 5))
    await asyncio.wait_for(all_started.wait(), 5)
    run.cancel()
    done, _ = await asyncio.wait([run], timeout=5)
    assert run in done and run.cancelled()
    await asyncio.sleep(0)  # the steps' cancellations run in their own tasks
    assert sorted(cancelled) == [0, 1, 2, 3, 4]


async def test_items_complete_in_item_order_whatever_order_they_finish_in(runner: InMemoryRunner) -> None:
    @executor
    async def numbers(n: int) -> list[int]:
        return list(range(n))

    @executor
    async def late_first(i: int) -> int:
        await asyncio.sleep(0.001 * (20 - i))  # item 0 finishes last
        return i * 10

    @executor
    async def listed(parts: list[int]) -> list[int]:
        return parts

    wf = WorkflowBuilder("order-map", start=numbers).add_map(numbers, late_first, collect=listed).build()
    result = await InMemoryRunner().run(wf, 20)
    assert result.status == "completed", result.error
    assert result.outputs == [[i * 10 for i in range(20)]]
