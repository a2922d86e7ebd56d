"""Every stream store adapter keeps the seam's promises: attempts per writer, idempotent chunks at fixed
offsets, reads after an offset, done, purge (a run's, or some of its steps'), the runs held, and waiting
for a change."""

from __future__ import annotations

import asyncio
import time

from engine.core.streams import StreamStore, StreamWriter


async def test_a_writer_keeps_its_attempt_and_a_new_writer_gets_the_next(store: StreamStore) -> None:
    assert await store.latest("run", "s") is None
    assert await store.open("run", "s", "call-1/1") == 1
    assert await store.open("run", "s", "call-1/1") == 1
    assert await store.open("run", "s", "call-1/2") == 2
    assert await store.open("run", "other", "call-1/1") == 1
    assert await store.latest("run", "s") == 2


async def test_chunks_are_idempotent_at_their_offsets(store: StreamStore) -> None:
    attempt = await store.open("run", "s", "w")
    for offset, text in enumerate(["Hel", "lo ", "world"], start=1):
        assert await store.append("run", "s", attempt, offset, text)
    assert await store.append("run", "s", attempt, 2, "lo ")  # the same chunk again: a no-op
    assert not await store.append("run", "s", attempt, 2, "LO ")  # another text there: refused
    read = await store.read("run", "s", attempt, 0)
    assert [(c.offset, c.text) for c in read.chunks] == [(1, "Hel"), (2, "lo "), (3, "world")]
    assert (read.next, read.done) == (3, False)
    later = await store.read("run", "s", attempt, 1)
    assert [c.offset for c in later.chunks] == [2, 3]
    await store.finish("run", "s", attempt)
    end = await store.read("run", "s", attempt, 3)
    assert (end.chunks, end.next, end.done) == ([], 3, True)


async def test_a_gap_hides_the_chunks_after_it(store: StreamStore) -> None:
    attempt = await store.open("run", "s", "w")
    await store.append("run", "s", attempt, 1, "a")
    await store.append("run", "s", attempt, 3, "c")
    await store.finish("run", "s", attempt)
    read = await store.read("run", "s", attempt, 0)
    assert ([c.text for c in read.chunks], read.next, read.done) == (["a"], 1, False)


async def test_purge_deletes_only_that_runs_streams(store: StreamStore) -> None:
    for run in ("run", "run-2", "ru"):
        attempt = await store.open(run, "s", "w")
        await store.append(run, "s", attempt, 1, "x")
    assert await store.purge("run") == 1
    assert await store.latest("run", "s") is None
    assert (await store.read("run", "s", 1, 0)).chunks == []
    assert await store.latest("run-2", "s") == 1
    assert await store.latest("ru", "s") == 1


async def test_purging_some_steps_keeps_the_others(store: StreamStore) -> None:
    for step in ("s@old", "s@new", "t@old"):
        attempt = await store.open("run", step, "w")
        for offset in (1, 2):
            await store.append("run", step, attempt, offset, "x")
    assert await store.purge("run", {"s@old", "t@old"}) == 4
    assert await store.latest("run", "s@old") is None and await store.latest("run", "t@old") is None
    assert [c.offset for c in (await store.read("run", "s@new", 1, 0)).chunks] == [1, 2]
    assert await store.purge("run", set()) == 0


async def test_runs_lists_each_run_with_the_steps_it_keeps(store: StreamStore) -> None:
    assert await store.runs() == {}
    await store.open("run|1", "s@n1", "w")  # '|' and '/' in an id are kept apart from the step
    await store.open("run|1", "t@n1", "w")
    await store.open("a/b", "s", "w")
    assert await store.runs() == {"run|1": {"s@n1", "t@n1"}, "a/b": {"s"}}
    await store.purge("run|1")
    assert await store.runs() == {"a/b": {"s"}}


async def test_waiting_returns_on_a_new_chunk_and_times_out_without_one(store: StreamStore) -> None:
    attempt = await store.open("run", "s", "w")
    started = time.perf_counter()
    await store.wait_change("run", "s", 0.3)
    assert time.perf_counter() - started >= 0.29

    async def later() -> None:
        await asyncio.sleep(0.05)
        await store.append("run", "s", attempt, 1, "x")

    writing = asyncio.create_task(later())
    started = time.perf_counter()
    await store.wait_change("run", "s", 5)
    assert time.perf_counter() - started < 2
    await writing


async def test_a_rerun_that_writes_other_text_starts_a_new_attempt(store: StreamStore) -> None:
    first = StreamWriter(store, "run", "s", "call/1")
    for word in ("one ", "two "):
        await first.write(word)
    # the host died; the same call attempt runs again and the model answers the same at first
    again = StreamWriter(store, "run", "s", "call/1")
    await again.write("one ")
    assert again.attempt == 1
    await again.write("three ")  # differs from offset 2's "two ": a new attempt, written from the start
    await again.close()
    assert again.attempt == 2
    read = await store.read("run", "s", 2, 0)
    assert ("".join(c.text for c in read.chunks), read.done) == ("one three ", True)
    assert [c.text for c in (await store.read("run", "s", 1, 0)).chunks] == ["one ", "two "]
