"""The sweep: its rule on every store (a run the backend no longer has loses all its streams; a run whose
current execution differs from the one that wrote a stream loses that stream only; the current execution's
streams, and those of a run without a nonce (memory) that carry none, are kept), the backend asked about
a few runs at a time, its interval setting, and
on devhost its timer removing what a management-API purge left, with no read of the stream route."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest

from devhost.testing import DevHostHandle
from engine.core.streams import MemoryStreamStore, StreamStore, stream_step
from engine.streams.sweep import (
    LOOKUPS_AT_ONCE,
    SCHEDULE_SETTING,
    Current,
    Swept,
    sweep,
    sweep_interval,
)
from tests.durable.http import call, get
from tests.streams.hosting import WEBHOOK, finished_run, held, key, run_url, stream_host


async def _write(store: StreamStore, run: str, step: str) -> None:
    attempt = await store.open(run, step, "w")
    for offset in (1, 2, 3):
        await store.append(run, step, attempt, offset, "x")


async def test_the_sweep_purges_gone_runs_and_earlier_executions_only(store: StreamStore) -> None:
    backend = {"live": Current("n2"), "memory-run": Current(None)}
    await _write(store, "gone", stream_step("s", "n0"))
    await _write(store, "live", stream_step("s", "n1"))  # an earlier execution of the id
    await _write(store, "live", stream_step("s", "n2"))
    await _write(store, "live", stream_step("t", "n2"))
    await _write(store, "memory-run", stream_step("s", None))
    asked: list[str] = []

    async def lookup(instance_id: str) -> Current | None:
        asked.append(instance_id)
        return backend.get(instance_id)

    assert await sweep(store, lookup) == Swept(runs=3, purged=2, chunks=6)
    assert sorted(asked) == ["gone", "live", "memory-run"]
    assert await store.runs() == {"live": {"s@n2", "t@n2"}, "memory-run": {"s"}}
    assert [c.offset for c in (await store.read("live", "s@n2", 1, 0)).chunks] == [1, 2, 3]
    assert await sweep(store, lookup) == Swept(runs=2, purged=0, chunks=0)  # nothing more to do


async def test_the_sweep_asks_about_a_few_runs_at_a_time() -> None:
    store = MemoryStreamStore()
    for n in range(40):
        await _write(store, f"run-{n}", stream_step("s", "n"))
    asking = most = 0

    async def lookup(instance_id: str) -> Current | None:
        nonlocal asking, most
        asking += 1
        most = max(most, asking)
        await asyncio.sleep(0.01)
        asking -= 1
        return None if instance_id.endswith("7") else Current("n")

    assert await sweep(store, lookup) == Swept(runs=40, purged=4, chunks=12)
    assert most == LOOKUPS_AT_ONCE
    assert sorted(await store.runs()) == sorted(f"run-{n}" for n in range(40) if n % 10 != 7)


@pytest.mark.parametrize(("raw", "seconds"), [(None, 900.0), ("", 900.0), ("0.5", 0.5), ("60", 60.0)])
def test_the_interval_setting_is_read(raw: str | None, seconds: float) -> None:
    assert sweep_interval(raw) == seconds


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "nan", "inf"])
def test_a_bad_interval_names_the_setting(raw: str) -> None:
    with pytest.raises(ValueError, match="ENGINE_STREAMS_SWEEP_SECONDS"):
        sweep_interval(raw)


@pytest.fixture(scope="module")
def sweeping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    """A sweep every second."""
    state = tmp_path_factory.mktemp("sweep") / "state.sqlite"
    with stream_host(state, 20, {SCHEDULE_SETTING: "*/1 * * * * *"}) as handle:
        yield handle


def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the sweep did not run in time"
        time.sleep(0.1)


def test_the_sweep_removes_streams_a_management_api_purge_left(sweeping: DevHostHandle) -> None:
    gone = finished_run(sweeping)
    kept = finished_run(sweeping)
    assert {gone, kept} <= set(held(sweeping))
    assert call("DELETE", f"{sweeping.base_url}{WEBHOOK}/{gone}").status == 200
    _until(lambda: gone not in held(sweeping))  # no read of the stream route in between
    assert kept in held(sweeping)  # a run the backend still has keeps its streams


def test_the_sweep_keeps_the_streams_of_an_ids_new_run(sweeping: DevHostHandle) -> None:
    """The id purged and started again: the earlier execution's streams go (the run was gone for a moment,
    or its nonce differs: ``tests/streams/test_sweep.py`` has the rule), the new run's stay readable."""
    finished_run(sweeping, "?instanceId=reused-sweep")
    old = key(sweeping, "reused-sweep")
    assert old in held(sweeping)["reused-sweep"]
    assert call("DELETE", f"{sweeping.base_url}{WEBHOOK}/reused-sweep").status == 200
    finished_run(sweeping, "?instanceId=reused-sweep")
    new = key(sweeping, "reused-sweep")
    assert new != old
    _until(lambda: held(sweeping).get("reused-sweep") == {new})
    body = get(f"{run_url(sweeping, 'reused-sweep')}/steps/s_writer/stream").body
    assert body["attempt"] == 1 and body["done"] and body["chunks"]
