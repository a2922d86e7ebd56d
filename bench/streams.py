"""Streams: the latency from a chunk written to the same chunk read, and what streaming costs an agent step.

On devhost (in-process, its SQLite state file; streams in ``streams.sqlite`` beside it):

- **write -> read**: a writer appends chunks (each holding the time it was written) to the stream of a
  finished agent run's step, through the store the app uses, one every ``interval`` seconds; a reader in
  another thread follows the stream over HTTP as any client does (``GET .../stream?after=&wait=``,
  long-polled). Each chunk's latency is the time it was read minus the time it was written: the SQLite
  commit, the route's polling, the HTTP answer. p50 and p95 per repetition.
- **cost per token**: what writing one chunk (a token of the model's, a word of the offline model's)
  adds to the writing step: the median time of one committed append, measured in the writer above.
- **the agent step, streaming or not**: runs of the agent step (``bench/agent_workflows.py``: the offline
  model, 4 tools), streaming (SQLite) against streams off (``ENGINE_STREAMS=off``: nothing written), one
  run at a time, median latency; its answer is a few words, so the two differ by less than the noise.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.agent_loop import APP, _done, _start
from bench.agent_workflows import agentic
from bench.common import Row
from engine.core.streams import stream_step
from engine.durable.admission import run_nonce_in
from engine.durable.checkpoint import OrchestratorInput

OURS = "ours"
STEP = "bench_agent"


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as reply:
        return json.loads(reply.read())


def _post(url: str, body: Any) -> Any:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


def _key(host: Any, run: str) -> str:
    """The name the run's agent step's streams are kept under (the step and the run's nonce)."""
    status = _get(f"{host.base_url}/runtime/webhooks/durabletask/instances/{run}?showInput=true")
    return stream_step(STEP, run_nonce_in(status["input"]))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _write_read(host: Any, folder: Path, chunks: int, interval: float) -> tuple[list[float], list[float]]:
    """Milliseconds from each chunk's write to its read, over HTTP; and microseconds each write took."""
    from engine.streams.sqlite_store import SqliteStreamStore

    api = f"{host.api_url}/workflows/{agentic.name}"
    run = _post(api, {"key": "k"})["id"]
    _get(f"{api}/runs/{run}?wait=60&until=finished")
    store = SqliteStreamStore(folder / "streams.sqlite")
    key = _key(host, run)
    attempt = asyncio.run(store.open(run, key, f"bench-{time.time()}"))
    latencies: list[float] = []
    writes: list[float] = []

    def read() -> None:
        after = 0
        while len(latencies) < chunks:
            answer = _get(f"{api}/runs/{run}/steps/{STEP}/stream?after={after}&attempt={attempt}&wait=10")
            now = time.time()
            latencies.extend((now - float(c["text"])) * 1000 for c in answer["chunks"])
            after = answer["next"]

    reader = threading.Thread(target=read)
    reader.start()

    async def write() -> None:
        for offset in range(1, chunks + 1):
            await asyncio.sleep(interval)
            began = time.perf_counter()
            await store.append(run, key, attempt, offset, repr(time.time()))
            writes.append((time.perf_counter() - began) * 1_000_000)

    asyncio.run(write())
    reader.join(120)
    store.close()
    return latencies, writes


def _run_seconds(host: Any, runs: int) -> float:
    """The median seconds of ``runs`` agent runs, one after the other."""
    from devhost.testing import _run

    hub = host.host.task_hub
    text = json.dumps(OrchestratorInput.start({"key": "k"}).model_dump(mode="json"))
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        iid = _run(_start(hub, agentic.name, text))
        while not _run(_done(hub, iid)):
            time.sleep(0.002)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def _chunks_of_a_run(host: Any, folder: Path) -> int:
    from engine.streams.sqlite_store import SqliteStreamStore

    api = f"{host.api_url}/workflows/{agentic.name}"
    run = _post(api, {"key": "k"})["id"]
    _get(f"{api}/runs/{run}?wait=60&until=finished")
    store = SqliteStreamStore(folder / "streams.sqlite")
    total, attempt, key = 0, 1, _key(host, run)
    while True:
        read = asyncio.run(store.read(run, key, attempt, 0))
        if not read.chunks:
            break
        total, attempt = total + len(read.chunks), attempt + 1
    store.close()
    return total


def run(
    chunks: int = 200,
    interval: float = 0.01,
    runs: int = 20,
    reps: int = 3,
    *,
    log: Callable[[str], None] = print,
) -> list[Row]:
    from devhost.testing import run_devhost

    logging.getLogger("devhost").setLevel(logging.WARNING)
    logging.getLogger("engine.agents").setLevel(logging.ERROR)
    p50: list[float] = []
    p95: list[float] = []
    append: list[float] = []
    on: list[float] = []
    off: list[float] = []
    written = 0
    for rep in range(reps + 1):  # the first repetition warms up
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            with run_devhost(APP, state=folder / "state.sqlite", in_memory=False) as host:
                latencies, writes = _write_read(host, folder, chunks if rep else 10, interval)
                written = _chunks_of_a_run(host, folder)
                streaming = _run_seconds(host, runs if rep else 2)
                os.environ["ENGINE_STREAMS"] = "off"
                try:
                    silent = _run_seconds(host, runs if rep else 2)
                finally:
                    del os.environ["ENGINE_STREAMS"]
        if rep:
            p50.append(_percentile(latencies, 0.5))
            p95.append(_percentile(latencies, 0.95))
            append.append(statistics.median(writes))
            on.append(streaming * 1000)
            off.append(silent * 1000)
    rows = [
        Row("streams", "devhost: chunk write -> read, p50", OURS, chunks, "ms", p50),
        Row("streams", "devhost: chunk write -> read, p95", OURS, chunks, "ms", p95),
        Row("streams", "devhost: agent step, streaming", OURS, runs, "ms/run", on, extra={"chunks": written}),
        Row("streams", "devhost: agent step, streams off", OURS, runs, "ms/run", off),
        Row("streams", "devhost: cost per token (a chunk committed)", OURS, chunks, "us/token", append),
    ]
    for row in rows:
        log(f"  streams {row.case:38} best {row.best:10.2f}  median {row.median:10.2f} {row.unit}")
    return rows


__all__ = ["run"]
