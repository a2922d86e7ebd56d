"""The threads sync executors run in (engine.core.step_threads): shown by rendezvous and by counts, never
by timing. A handler that blocks must not hold up the others; results, exceptions and the context reach
the waiter; a waiter that gave up drops its result; quick handlers share a thread."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from engine.core.step_threads import POOL_SIZE_SETTING, StepThreads, default_size

WAIT = 5.0


async def test_results_and_exceptions_reach_the_waiter() -> None:
    pool = StepThreads(4)

    def fails() -> None:
        raise KeyError("nope")

    assert await pool.run(lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(KeyError):
        await pool.run(fails)


async def test_a_stop_iteration_is_an_error_not_a_hang() -> None:
    pool = StepThreads(2)

    def stops() -> None:
        raise StopIteration

    with pytest.raises(RuntimeError, match="StopIteration"):
        await asyncio.wait_for(pool.run(stops), WAIT)


async def test_the_handler_runs_off_the_loop_in_a_copy_of_the_context() -> None:
    pool = StepThreads(2)
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("the step's")

    def read() -> tuple[str, int]:
        value = var.get()
        var.set("changed in the thread")  # a copy: the caller's context keeps its value
        return value, threading.get_ident()

    value, thread = await pool.run(read)
    assert value == "the step's"
    assert var.get() == "the step's"
    assert thread != threading.get_ident()


async def test_a_handler_that_blocks_does_not_hold_up_the_others() -> None:
    """The first job waits for the second: with one thread awake and nothing else, it would wait in vain.
    The watchdog sees no job start while one waits, and wakes another thread for it."""
    pool = StepThreads(4)
    second_ran = threading.Event()

    def blocks() -> str:
        if not second_ran.wait(WAIT):
            raise TimeoutError("the second job never ran")
        return "first"

    def quick() -> str:
        second_ran.set()
        return "second"

    first = pool.submit(blocks)
    second = pool.submit(quick)
    assert await asyncio.wait_for(asyncio.gather(first, second), WAIT + 1) == ["first", "second"]
    assert pool.threads == 2


async def test_every_thread_the_pool_may_have_can_block_at_once() -> None:
    size = 4
    pool = StepThreads(size)
    arrived = threading.Barrier(size, timeout=WAIT)

    def meet(i: int) -> int:
        arrived.wait()  # all four must be running together
        return i

    got = await asyncio.wait_for(asyncio.gather(*(pool.submit(meet, i) for i in range(size))), WAIT + 1)
    assert got == list(range(size))
    assert pool.threads == size


async def test_quick_handlers_of_one_loop_turn_share_one_thread() -> None:
    pool = StepThreads(8)
    threads: set[int] = set()

    def quick(i: int) -> int:
        threads.add(threading.get_ident())
        return i * 2

    got = await asyncio.gather(*(pool.submit(quick, i) for i in range(200)))
    assert got == [i * 2 for i in range(200)]
    assert len(threads) == 1  # woken once for the turn's 200 jobs, not once per job


async def test_a_waiter_that_gave_up_drops_the_late_result() -> None:
    pool = StepThreads(2)
    release = threading.Event()
    finished = threading.Event()

    def slow() -> str:
        release.wait(WAIT)
        finished.set()
        return "late"

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pool.submit(slow), 0.05)
    release.set()
    assert await asyncio.to_thread(finished.wait, WAIT)  # the abandoned attempt still ran to its end
    assert await pool.run(lambda: "next") == "next"  # and the pool goes on


async def test_a_job_whose_waiter_gave_up_before_it_started_is_not_run() -> None:
    pool = StepThreads(1)
    release = threading.Event()
    ran: list[str] = []

    def hold() -> None:
        release.wait(WAIT)

    held = pool.submit(hold)
    await asyncio.sleep(0)  # the worker takes the first job
    dropped = pool.submit(ran.append, "dropped")
    dropped.cancel()
    release.set()
    await held
    assert await pool.run(ran.append, "after") is None
    assert ran == ["after"]


async def test_results_reach_each_loop_that_waits() -> None:
    pool = StepThreads(2)

    def in_another_loop() -> int:
        return asyncio.run(pool.run(lambda: 7))

    assert await asyncio.to_thread(in_another_loop) == 7
    assert await pool.run(lambda: 8) == 8


def test_the_size_is_the_worker_setting_or_thread_pool_executors_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(POOL_SIZE_SETTING, "3")
    assert default_size() == 3
    monkeypatch.setenv(POOL_SIZE_SETTING, "not a number")
    fallback = default_size()
    monkeypatch.delenv(POOL_SIZE_SETTING)
    assert default_size() == fallback >= 5  # min(32, cpus + 4)
    with pytest.raises(ValueError):
        StepThreads(0)
