"""``kill -9`` of a devhost process while an agent step streams: the chunks committed before the kill stay,
the step's call runs again after the restart, and a reader resuming at its offset gets every chunk of the
text exactly once (the offline model answers the same again, so the same attempt goes on)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from devhost.testing import DevHostProcess
from tests.durable.http import finished, get, post, wait_for
from tests.streams.hosting import ROOT, stream_settings


def test_a_reader_gets_every_chunk_once_across_a_kill_of_the_host(tmp_path: Path) -> None:
    settings = stream_settings(150)
    process = DevHostProcess(
        ROOT, tmp_path / "state.sqlite", settings=settings, log_path=tmp_path / "host.log"
    )
    process.start()
    try:
        api = f"{process.base_url}/api/workflows/s_stream"
        run = post(api, {"topic": "durable streams", "audience": "operators"}).body["id"]
        url = f"{api}/runs/{run}/steps/s_writer/stream"
        got: list[tuple[int, str]] = []
        after, attempt = 0, None
        while len(got) < 3:  # a few chunks in: the step is mid-stream
            body = get(f"{url}?after={after}&wait=10").body
            got += [(c["offset"], c["text"]) for c in body["chunks"]]
            after, attempt = body["next"], body["attempt"]
            assert not body["done"]
        process.kill9()
        process.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            body = get(f"{url}?after={after}&attempt={attempt}&wait=10").body
            assert "newAttempt" not in body  # the same call attempt ran again, and wrote the same text
            got += [(c["offset"], c["text"]) for c in body["chunks"]]
            after = body["next"]
            if body["done"]:
                break
        view = wait_for(f"{api}/runs/{run}", finished, timeout=120).body
        assert view["runtimeStatus"] == "Completed", view
        assert [o for o, _ in got] == list(range(1, len(got) + 1))  # every chunk once, in order
        assert json.loads("".join(t for _, t in got)) == view["outputs"][0]
        log = (tmp_path / "host.log").read_text(errors="replace")
        # the call activity ran before the kill and again after it; no "Executed" line for the first
        assert log.count("Executing 'Functions.run_step_call'") == 2
        assert log.count("Executed 'Functions.run_step_call'") == 1
    finally:
        process.stop()
