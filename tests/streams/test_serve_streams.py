"""``python -m engine serve --backend durabletask:memory``: its API process and its worker share
``.engine/streams.sqlite``, so an agent step the worker runs streams to a reader of the API's route, every
chunk once; purging through its API takes the run's streams; and its periodic sweep removes the streams
of a run its backend does not have."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

from engine.streams.sqlite_store import SqliteStreamStore
from tests.durable.hostings import Served, engine_serve
from tests.durable.http import call, finished, post, wait_for
from tests.streams.hosting import BRIEF, ROOT, follow, stream_settings

STREAMS_FILE = ROOT / ".engine" / "streams.sqlite"  # serve runs in the app folder, the repository here


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    settings = stream_settings(40)
    # serve chooses the store itself: nothing in the environment may choose for it
    unset = {"ENGINE_STREAMS": "", "AzureWebJobsStorage": "", "DEVHOST_STATE_FOLDER": ""}
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    extra = {**settings, **unset, "ENGINE_STREAMS_SWEEP_SECONDS": "0.5"}
    with engine_serve(settings["WORKFLOW_MODULES"], log, extra=extra) as handle:
        yield handle


def _store() -> SqliteStreamStore:
    return SqliteStreamStore(STREAMS_FILE)


def test_the_worker_streams_to_the_api_process_every_chunk_once(served: Served) -> None:
    api = f"{served.api_url}/workflows/s_stream"
    run = post(api, BRIEF).body["id"]
    chunks, reads = follow(f"{api}/runs/{run}/steps/s_writer/stream")
    assert reads > 2  # the text arrived over several reads, while the worker ran the step
    assert [o for o, _ in chunks] == list(range(1, len(chunks) + 1))
    view = wait_for(f"{api}/runs/{run}", finished).body
    assert view["runtimeStatus"] == "Completed"
    assert json.loads("".join(t for _, t in chunks)) == view["outputs"][0]
    store = _store()
    try:  # the chunks are in the file both processes share
        assert run in asyncio.run(store.runs())
    finally:
        store.close()


def test_serves_sweep_removes_the_streams_of_a_run_its_backend_does_not_have(served: Served) -> None:
    stray = f"gone-{time.time_ns()}"
    store = _store()
    try:
        attempt = asyncio.run(store.open(stray, "s_writer@n", "w"))
        asyncio.run(store.append(stray, "s_writer@n", attempt, 1, "left behind"))
        deadline = time.monotonic() + 20
        while stray in asyncio.run(store.runs()):
            assert time.monotonic() < deadline, "serve's sweep did not run"
            time.sleep(0.2)
    finally:
        store.close()
    assert served.process.poll() is None


def test_purging_through_serves_api_takes_the_streams(served: Served) -> None:
    api = f"{served.api_url}/workflows/s_stream"
    run = post(api, BRIEF).body["id"]
    wait_for(f"{api}/runs/{run}", finished)
    answer = call("DELETE", f"{api}/runs/{run}")
    assert answer.status == 200 and answer.body["purged"], answer.body
    store = _store()
    try:  # gone right after the answer (by the route; the sweep, every 0.5 s here, may race it to them)
        assert run not in asyncio.run(store.runs())
    finally:
        store.close()
    assert call("GET", f"{api}/runs/{run}").status == 404
