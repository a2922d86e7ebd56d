"""THE event sequence of the SSE route (``stream_api.sse_events``) over a real store: held open, it sends
each chunk as it commits, a heartbeat comment while nothing comes, and ends at ``done`` or its bound;
finite, it ends at its first batch. (Over HTTP on each hosting: test_sse_held_open.py.)"""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.core.streams import MemoryStreamStore
from engine.functions import stream_api
from engine.functions.stream_api import StepStream, sse_events

RETRY = f"retry: {stream_api.SSE_RETRY_MS}\n\n"


def _chunk(attempt: int, offset: int, text: str) -> str:
    data = f'{{"attempt": {attempt}, "offset": {offset}, "text": "{text}"}}'
    return f"id: {attempt}:{offset}\nevent: chunk\ndata: {data}\n\n"


async def _collect(stream: StepStream, wait: float, *, hold: bool, after: int = 0) -> list[tuple[float, str]]:
    started = time.monotonic()
    return [(time.monotonic() - started, p) async for p in sse_events(stream, None, after, wait, hold=hold)]


async def test_held_open_each_chunk_is_sent_as_it_commits_until_done() -> None:
    store = MemoryStreamStore()
    stream = StepStream(store, "run", "step", ended=False)

    async def write() -> None:
        attempt = await store.open("run", "step", "w")
        for offset, word in enumerate(("one ", "two ", "three"), start=1):
            await asyncio.sleep(0.2)
            await store.append("run", "step", attempt, offset, word)
        await store.finish("run", "step", attempt)

    writer = asyncio.create_task(write())
    pieces = await _collect(stream, 10, hold=True)
    await writer
    texts = [p for _, p in pieces]
    assert texts[0] == RETRY
    assert "".join(texts[1:]) == (
        _chunk(1, 1, "one ")
        + _chunk(1, 2, "two ")
        + _chunk(1, 3, "three")
        + 'id: 1:3\nevent: done\ndata: {"attempt": 1}\n\n'
    )
    # each chunk went out when it was written, about 0.2 s apart, not all at the end
    chunk_times = [t for t, p in pieces if "event: chunk" in p]
    assert len(chunk_times) == 3 and chunk_times[1] - chunk_times[0] >= 0.1


async def test_held_open_nothing_coming_sends_heartbeats_until_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream_api, "SSE_HEARTBEAT", 0.2)
    store = MemoryStreamStore()
    attempt = await store.open("run", "step", "w")
    await store.append("run", "step", attempt, 1, "only")
    started = time.monotonic()
    pieces = await _collect(StepStream(store, "run", "step", ended=False), 1.0, hold=True, after=1)
    assert 0.9 <= time.monotonic() - started <= 2.0  # ends at its bound, for the reader to ask again
    texts = [p for _, p in pieces]
    assert texts[0] == RETRY
    assert set(texts[1:]) == {": waiting\n\n"} and len(texts) - 1 >= 3


async def test_finite_the_answer_ends_at_its_first_batch() -> None:
    store = MemoryStreamStore()
    attempt = await store.open("run", "step", "w")
    await store.append("run", "step", attempt, 1, "first ")
    pieces = [p for _, p in await _collect(StepStream(store, "run", "step", ended=False), 10, hold=False)]
    assert pieces == [RETRY, _chunk(1, 1, "first ")]


async def test_a_finished_run_whose_step_wrote_nothing_ends_at_once() -> None:
    stream = StepStream(MemoryStreamStore(), "run", "step", ended=True)
    for hold in (True, False):
        started = time.monotonic()
        assert [p for _, p in await _collect(stream, 10, hold=hold)] == [RETRY]
        assert time.monotonic() - started < 1


def test_http_streams_without_init_indexing_are_reported_at_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker would start no server for the streams, and every request would hang: said at start."""
    from engine.functions.app import WorkflowApp
    from tests.streams.stream_workflows import s_stream

    monkeypatch.delenv("PYTHON_ENABLE_INIT_INDEXING", raising=False)
    monkeypatch.setenv("WORKFLOW_HTTP_STREAMS", "true")
    with caplog.at_level("ERROR", logger="engine.http"):
        assert WorkflowApp([s_stream], mcp_tools=False).http_streams
    assert "PYTHON_ENABLE_INIT_INDEXING" in caplog.text
    caplog.clear()
    monkeypatch.setenv("PYTHON_ENABLE_INIT_INDEXING", "1")
    with caplog.at_level("ERROR", logger="engine.http"):
        assert WorkflowApp([s_stream], mcp_tools=False).http_streams
    assert caplog.text == ""
