"""The stream routes on devhost: long-polled reads after any offset get every chunk once, bad offsets are
a 400 naming them, an offset past the end waits, unknown runs and steps are a 404, Server-Sent Events
resume after Last-Event-ID, and purging a run purges its streams."""

from __future__ import annotations

import asyncio
import io
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHostHandle
from engine.cli.watch import watch
from engine.core.streams import stream_step
from engine.durable.admission import run_nonce_in
from engine.streams.sqlite_store import SqliteStreamStore
from tests.durable.http import call, finished, get, post, wait_for
from tests.streams.hosting import follow as _follow
from tests.streams.hosting import stream_host

WEBHOOK = "/runtime/webhooks/durabletask/instances"
BRIEF = {"topic": "durable streams", "audience": "operators"}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    state = tmp_path_factory.mktemp("streams") / "state.sqlite"
    with stream_host(state, 80) as handle:
        yield handle


def _stream_url(host: DevHostHandle, run: str) -> str:
    return f"{host.api_url}/workflows/s_stream/runs/{run}/steps/s_writer/stream"


def _start(host: DevHostHandle, brief: dict[str, str] = BRIEF, query: str = "") -> str:
    return post(f"{host.api_url}/workflows/s_stream{query}", brief).body["id"]


def _key(host: DevHostHandle, run: str) -> str:
    """The name the run's s_writer streams are kept under: the step and the run's execution (its nonce)."""
    status = get(f"{host.base_url}{WEBHOOK}/{run}?showInput=true").body
    return stream_step("s_writer", run_nonce_in(status["input"]))


def test_a_reader_gets_every_chunk_once_as_it_is_written(host: DevHostHandle) -> None:
    run = _start(host)
    chunks, reads = _follow(_stream_url(host, run))
    assert reads > 2  # the text arrived over several reads, while the step ran
    assert [o for o, _ in chunks] == list(range(1, len(chunks) + 1))
    view = wait_for(f"{host.api_url}/workflows/s_stream/runs/{run}", finished).body
    assert view["runtimeStatus"] == "Completed"
    assert json.loads("".join(t for _, t in chunks)) == view["outputs"][0]
    # resuming at any offset gives exactly the chunks after it
    for k in range(len(chunks) + 1):
        body = get(_stream_url(host, run) + f"?after={k}").body
        assert [(c["offset"], c["text"]) for c in body["chunks"]] == chunks[k:]
        assert body["done"] and body["next"] == len(chunks)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("after=-1", "after"),
        ("after=abc", "after"),
        ("wait=-3", "wait"),
        ("wait=soon", "wait"),
        ("attempt=0", "attempt"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(host: DevHostHandle, query: str, field: str) -> None:
    run = _start(host)
    answer = get(_stream_url(host, run) + "?" + query)
    assert answer.status == 400
    assert field in json.dumps(answer.body)


def test_an_offset_past_the_end_waits_then_answers_empty(host: DevHostHandle) -> None:
    run = _start(host)
    url = _stream_url(host, run)
    first = get(url + "?wait=10").body
    assert first["chunks"] and not first["done"]
    started = time.monotonic()
    past = get(url + f"?after=100000&attempt={first['attempt']}&wait=1").body
    assert time.monotonic() - started >= 0.9
    assert (past["chunks"], past["next"], past["done"]) == ([], 100000, False)
    # while it streams, the event feed announces it
    feed = get(f"{host.api_url}/workflows/s_stream/runs/{run}/events").body
    [streaming] = [e for e in feed["events"] if e["kind"] == "step_streaming"]
    assert (streaming["executor"], streaming["attempt"]) == ("s_writer", 1)
    assert streaming["detail"] == "steps/s_writer/stream?attempt=1"


def test_a_step_without_a_stream_has_a_null_attempt_and_a_finished_run_does_not_wait(
    host: DevHostHandle,
) -> None:
    run = _start(host)
    wait_for(f"{host.api_url}/workflows/s_stream/runs/{run}", finished)
    store = SqliteStreamStore(Path(host.host.options.state).parent / "streams.sqlite")  # type: ignore[arg-type]
    try:
        assert asyncio.run(store.purge(run)) > 0  # the run stays; its step's stream is gone
    finally:
        store.close()
    started = time.monotonic()
    body = get(_stream_url(host, run) + "?after=0&wait=30").body
    assert body == {"attempt": None, "chunks": [], "next": 0, "done": False}
    assert time.monotonic() - started < 5  # nothing will come: no wait


def test_unknown_runs_and_steps_are_a_404(host: DevHostHandle) -> None:
    run = _start(host)
    missing = get(f"{host.api_url}/workflows/s_stream/runs/no-such-run/steps/s_writer/stream")
    assert missing.status == 404 and "no-such-run" in json.dumps(missing.body)
    step = get(f"{host.api_url}/workflows/s_stream/runs/{run}/steps/nobody/stream")
    assert step.status == 404 and "nobody" in json.dumps(step.body)


def _events(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            fields[name] = value
        if "event" in fields:
            events.append(fields)
    return events


def _sse(url: str, last_event: str | None) -> tuple[int, str, str]:
    headers = {"Accept": "text/event-stream"} | ({"Last-Event-ID": last_event} if last_event else {})
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def test_server_sent_events_resume_after_the_last_event_id(host: DevHostHandle) -> None:
    run = _start(host)
    url = _stream_url(host, run) + "/sse?wait=10"
    texts: dict[int, str] = {}
    last: str | None = None
    ended = False
    while not ended:
        status, kind, body = _sse(url, last)
        assert status == 200
        assert kind.startswith("text/event-stream")
        for event in _events(body):
            if event["event"] == "chunk":
                data = json.loads(event["data"])
                assert data["offset"] not in texts  # each chunk once
                texts[data["offset"]] = data["text"]
                last = event["id"]
            ended = ended or event["event"] == "done"
    view = wait_for(f"{host.api_url}/workflows/s_stream/runs/{run}", finished).body
    assert sorted(texts) == list(range(1, len(texts) + 1))
    assert json.loads("".join(texts[k] for k in sorted(texts))) == view["outputs"][0]
    # read to its end, the stream answers its done event again, and no chunk
    again = _events(_sse(url, f"1:{len(texts)}")[2])
    assert [e["event"] for e in again] == ["done"]
    bad = call("GET", url, headers={"Last-Event-ID": "later"})
    assert bad.status == 400 and "Last-Event-ID" in json.dumps(bad.body)


def test_purging_a_run_purges_its_streams(host: DevHostHandle) -> None:
    run = _start(host)
    _follow(_stream_url(host, run))
    wait_for(f"{host.api_url}/workflows/s_stream/runs/{run}", finished)
    store = SqliteStreamStore(Path(host.host.options.state).parent / "streams.sqlite")  # type: ignore[arg-type]
    try:
        key = _key(host, run)
        assert key.startswith("s_writer@") and asyncio.run(store.latest(run, key)) == 1
        assert call("DELETE", f"{host.base_url}{WEBHOOK}/{run}").status == 200
        assert get(_stream_url(host, run)).status == 404
        assert asyncio.run(store.latest(run, key)) is None
        assert asyncio.run(store.read(run, key, 1, 0)).chunks == []
    finally:
        store.close()


def test_a_run_reusing_a_purged_runs_id_never_reads_that_runs_stream(host: DevHostHandle) -> None:
    """A stream belongs to the one execution that wrote it: purged through the management API
    (no read of the stream route in between, so nothing purged the streams yet) and the id started again,
    the new run's reader gets the new run's text only, from its first chunk."""
    old_text, _ = _follow(_stream_url(host, _start(host, query="?instanceId=reused-stream")))
    old_key = _key(host, "reused-stream")
    assert call("DELETE", f"{host.base_url}{WEBHOOK}/reused-stream").status == 200
    other = {"topic": "something else entirely", "audience": "auditors"}
    assert _start(host, other, "?instanceId=reused-stream") == "reused-stream"
    new_key = _key(host, "reused-stream")
    assert new_key != old_key
    first = get(_stream_url(host, "reused-stream") + "?wait=0").body
    assert first["attempt"] in (None, 1) and all(c["offset"] >= 1 for c in first["chunks"])
    new_text, _ = _follow(_stream_url(host, "reused-stream"))
    view = wait_for(f"{host.api_url}/workflows/s_stream/runs/reused-stream", finished).body
    assert json.loads("".join(t for _, t in new_text)) == view["outputs"][0]
    assert new_text != old_text
    store = SqliteStreamStore(Path(host.host.options.state).parent / "streams.sqlite")  # type: ignore[arg-type]
    try:  # the old run's chunks are still stored (no read purged them), yet never served
        assert asyncio.run(store.latest("reused-stream", old_key)) == 1
    finally:
        store.close()


def test_watch_tokens_prints_the_text_as_it_arrives(host: DevHostHandle) -> None:
    run = _start(host)
    out = io.StringIO()
    run_url = f"{host.api_url}/workflows/s_stream/runs/{run}"
    assert watch(run_url, out, tokens=True) == 0
    printed = out.getvalue()
    view = get(run_url).body
    line = next(line for line in printed.splitlines() if "✎ s_writer: " in line)
    assert json.loads(line.split("✎ s_writer: ", 1)[1]) == view["outputs"][0]
    assert printed.count("✎") == 1


def test_a_reader_of_an_older_attempt_is_told_a_new_one_began(host: DevHostHandle) -> None:
    run = _start(host)
    chunks, _ = _follow(_stream_url(host, run))
    store = SqliteStreamStore(Path(host.host.options.state).parent / "streams.sqlite")  # type: ignore[arg-type]
    try:  # what a retried call writes: a new attempt of the step's stream
        key = _key(host, run)
        attempt = asyncio.run(store.open(run, key, "retried-call/2"))
        assert attempt == 2
        asyncio.run(store.append(run, key, 2, 1, "again "))
    finally:
        store.close()
    body = get(_stream_url(host, run) + f"?after={len(chunks)}&attempt=1&wait=5").body
    assert body == {
        "attempt": 2,
        "chunks": [{"offset": 1, "text": "again "}],
        "next": 1,
        "done": False,
        "newAttempt": True,
    }
    events = _events(_sse(_stream_url(host, run) + "/sse?wait=0", f"1:{len(chunks)}")[2])
    assert [(e["event"], e.get("id")) for e in events] == [("attempt", None), ("chunk", "2:1")]
