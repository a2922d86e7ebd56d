"""Server-Sent Events held open where the hosting can stream: devhost running the app with HTTP streams
(WORKFLOW_HTTP_STREAMS, the azurefunctions-extensions-http-fastapi extension) and ``python -m engine serve``.
One response carries the step's chunks as they commit, the first while the step still writes; a reader
that reconnects with Last-Event-ID mid-stream gets each chunk once; where the hosting cannot stream (the
classic Functions app), each answer still ends at its first batch."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from devhost.testing import run_devhost
from tests.durable.hostings import engine_serve
from tests.durable.http import finished, get, post, wait_for
from tests.streams.hosting import ROOT, stream_host, stream_settings

BRIEF = {"topic": "held-open streams", "audience": "readers"}
STREAMS_ON = {"WORKFLOW_HTTP_STREAMS": "true", "PYTHON_ENABLE_INIT_INDEXING": "1"}
DELAY_MS = 60


@pytest.fixture(scope="module", params=["devhost", "serve"])
def streaming_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``{api}/workflows/s_stream`` on a hosting that holds SSE answers open."""
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "devhost":
        settings = {**stream_settings(DELAY_MS), **STREAMS_ON}
        with run_devhost(ROOT, state=folder / "state.sqlite", in_memory=False, settings=settings) as host:
            assert host.host.index.http_streams  # the app's routes take the extension's Request
            yield f"{host.api_url}/workflows/s_stream"
        return
    extra = {**stream_settings(DELAY_MS), "ENGINE_STREAMS": f"sqlite:{folder / 'streams.sqlite'}"}
    with engine_serve("tests.streams.stream_workflows", folder / "serve.log", extra=extra) as served:
        yield f"{served.api_url}/workflows/s_stream"


@dataclass
class Reading:
    """What one SSE response gave: its events in order, and whether the run was still going at the first
    chunk."""

    events: list[dict[str, str]] = field(default_factory=list)
    running_at_first_chunk: bool | None = None

    def chunks(self) -> list[tuple[str, str]]:
        return [(e["id"], json.loads(e["data"])["text"]) for e in self.events if e.get("event") == "chunk"]


def _read(
    run_url: str, query: str = "", last_event: str | None = None, stop_after: int | None = None
) -> Reading:
    """One SSE response read as it arrives, to its end (or until ``stop_after`` chunks, then closed)."""
    headers = {"Accept": "text/event-stream"} | ({"Last-Event-ID": last_event} if last_event else {})
    reading = Reading()
    with httpx.stream("GET", f"{run_url}/steps/s_writer/stream/sse{query}", headers=headers, timeout=90) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        block: dict[str, str] = {}
        for line in r.iter_lines():
            if line and not line.startswith(":"):  # a comment (a heartbeat) carries nothing
                name, _, value = line.partition(": ")
                block[name] = value
                continue
            if "event" in block:
                reading.events.append(block)
                if block["event"] == "chunk" and reading.running_at_first_chunk is None:
                    reading.running_at_first_chunk = get(run_url).body["runtimeStatus"] == "Running"
                if stop_after is not None and len(reading.chunks()) >= stop_after:
                    return reading
            block = {}
    return reading


def _output(run_url: str) -> object:
    return wait_for(run_url, finished).body["outputs"][0]


def test_one_held_open_answer_carries_the_chunks_as_they_commit(streaming_api: str) -> None:
    run_url = f"{streaming_api}/runs/{post(streaming_api, BRIEF).body['id']}"
    reading = _read(run_url, "?wait=60")
    # the first chunk came while the step still wrote, and the same response went on to the end
    assert reading.running_at_first_chunk is True
    assert reading.events[-1]["event"] == "done"
    chunks = reading.chunks()
    assert [i for i, _ in chunks] == [f"1:{k}" for k in range(1, len(chunks) + 1)]
    assert json.loads("".join(t for _, t in chunks)) == _output(run_url)


def test_a_reader_resuming_with_last_event_id_mid_stream_gets_each_chunk_once(streaming_api: str) -> None:
    run_url = f"{streaming_api}/runs/{post(streaming_api, BRIEF).body['id']}"
    first = _read(run_url, "?wait=60", stop_after=3)  # the reader goes away after three chunks
    assert first.running_at_first_chunk is True
    last = first.chunks()[-1][0]
    rest = _read(run_url, "?wait=60", last_event=last)
    assert rest.events[-1]["event"] == "done"
    chunks = first.chunks() + rest.chunks()
    assert [i for i, _ in chunks] == [f"1:{k}" for k in range(1, len(chunks) + 1)]
    assert json.loads("".join(t for _, t in chunks)) == _output(run_url)


@pytest.fixture(scope="module")
def classic_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``{api}/workflows/s_stream`` on devhost running the classic app (whole bodies only)."""
    with stream_host(tmp_path_factory.mktemp("classic") / "state.sqlite", DELAY_MS) as host:
        assert not host.host.index.http_streams
        yield f"{host.api_url}/workflows/s_stream"


def test_where_the_hosting_cannot_stream_each_answer_ends_at_its_first_batch(classic_api: str) -> None:
    run_url = f"{classic_api}/runs/{post(classic_api, BRIEF).body['id']}"
    got: list[tuple[str, str]] = []
    answers = 0
    while True:
        reading = _read(run_url, "?wait=60", last_event=got[-1][0] if got else None)
        answers += 1
        got += reading.chunks()
        if reading.events and reading.events[-1]["event"] == "done":
            break
    assert answers > 2  # many finite answers, each ending at its batch, not one held open
    assert [i for i, _ in got] == [f"1:{k}" for k in range(1, len(got) + 1)]
    assert json.loads("".join(t for _, t in got)) == _output(run_url)


def test_validation_is_the_same_where_answers_are_held_open(streaming_api: str) -> None:
    run_url = f"{streaming_api}/runs/{post(streaming_api, BRIEF).body['id']}"
    sse = f"{run_url}/steps/s_writer/stream/sse"
    bad = httpx.get(sse, headers={"Last-Event-ID": "later"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["field"] == "Last-Event-ID"
    for query, name in (("?wait=61", "wait"), ("?after=-1", "after"), ("?attempt=0", "attempt")):
        reply = httpx.get(sse + query, timeout=30)
        assert reply.status_code == 400 and name in reply.text, (query, reply.text)
    assert (
        httpx.get(f"{streaming_api}/runs/no-such-run/steps/s_writer/stream/sse", timeout=30).status_code
        == 404
    )
    assert httpx.get(f"{run_url}/steps/nobody/stream/sse", timeout=30).status_code == 404


@pytest.mark.parametrize("hosting", ["devhost", "serve"])
def test_stopping_the_hosting_ends_a_held_open_answer(hosting: str, tmp_path: Path) -> None:
    """A reader holding an answer open does not hold up a stop: the hosting ends the answer at once
    (aiohttp would otherwise wait up to a minute for the handler)."""
    with ExitStack() as stack:
        if hosting == "devhost":
            settings = {**stream_settings(1000), **STREAMS_ON}
            state = tmp_path / "state.sqlite"
            host = stack.enter_context(run_devhost(ROOT, state=state, in_memory=False, settings=settings))
            api, stop = f"{host.api_url}/workflows/s_stream", stack.close
        else:
            extra = {**stream_settings(1000), "ENGINE_STREAMS": f"sqlite:{tmp_path / 'streams.sqlite'}"}
            served = stack.enter_context(
                engine_serve("tests.streams.stream_workflows", tmp_path / "log", extra=extra)
            )
            api, stop = f"{served.api_url}/workflows/s_stream", served.process.terminate
        run_url = f"{api}/runs/{post(api, BRIEF).body['id']}"
        first_chunk, ended = threading.Event(), threading.Event()
        events: list[str] = []

        def read() -> None:
            try:
                with httpx.stream("GET", f"{run_url}/steps/s_writer/stream/sse?wait=60", timeout=90) as r:
                    for line in r.iter_lines():
                        if line.startswith("event: "):
                            events.append(line)
                            first_chunk.set()
            except httpx.HTTPError:
                pass  # the answer cut mid-body: what a stopping server does
            ended.set()

        threading.Thread(target=read, daemon=True).start()
        assert first_chunk.wait(30)
        started = time.monotonic()
        stop()  # devhost: stopped in this process; serve: SIGTERM, its API stops first
        assert ended.wait(10)
        assert time.monotonic() - started < 10
    assert "event: done" not in events  # it ended because the hosting stopped, not because the step did
