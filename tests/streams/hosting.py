"""devhost for the stream tests: the stream workflow served, the offline model slowed to a word each
``delay_ms``, so a reader (or a browser) sees the text arrive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from devhost.testing import DevHostHandle, run_devhost
from engine.core.streams import stream_step
from engine.durable.admission import run_nonce_in
from engine.streams.sqlite_store import SqliteStreamStore
from tests.durable.http import finished, get, post, wait_for

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "/runtime/webhooks/durabletask/instances"
BRIEF = {"topic": "purged streams", "audience": "operators"}
OFFLINE = {
    name: ""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")
}


def stream_settings(delay_ms: int) -> dict[str, str]:
    """The app settings: the stream workflow, the offline model at a word each ``delay_ms``."""
    return {
        "WORKFLOW_MODULES": "tests.streams.stream_workflows",
        "ENGINE_OFFLINE_STREAM_DELAY_MS": str(delay_ms),
        **OFFLINE,
    }


@contextmanager
def stream_host(
    state: Path, delay_ms: int, extra: Mapping[str, str] | None = None
) -> Iterator[DevHostHandle]:
    """devhost in this process on the SQLite state file ``state`` (streams beside it), with ``extra``
    settings."""
    settings = {**stream_settings(delay_ms), **(extra or {})}
    with run_devhost(ROOT, state=state, in_memory=False, settings=settings) as handle:
        yield handle


def stream_file(host: DevHostHandle) -> Path:
    """The SQLite file devhost keeps its app's streams in (beside its state file)."""
    return Path(host.host.options.state).parent / "streams.sqlite"  # type: ignore[arg-type]


def run_url(host: DevHostHandle, run: str) -> str:
    """The run view of the stream workflow's run."""
    return f"{host.api_url}/workflows/s_stream/runs/{run}"


def finished_run(host: DevHostHandle, query: str = "") -> str:
    """A run of the stream workflow started (``query``: ``?instanceId=``) and waited for to its end."""
    run = post(f"{host.api_url}/workflows/s_stream{query}", BRIEF).body["id"]
    wait_for(run_url(host, run), finished)
    return run


def held(host: DevHostHandle) -> dict[str, set[str]]:
    """What the app's SQLite stream store holds, read from the file."""
    store = SqliteStreamStore(stream_file(host))
    try:
        return asyncio.run(store.runs())
    finally:
        store.close()


def key(host: DevHostHandle, run: str) -> str:
    """The name the run's s_writer streams are kept under: the step and the run's execution (its nonce)."""
    status = get(f"{host.base_url}{WEBHOOK}/{run}?showInput=true").body
    return stream_step("s_writer", run_nonce_in(status["input"]))


def follow(url: str, timeout: float = 60.0) -> tuple[list[tuple[int, str]], int]:
    """Read the stream at ``url`` to its end as a reader does; the chunks got and how many reads it took
    (failing when it has not ended in ``timeout`` seconds: a stream no reader can see never ends)."""
    got: list[tuple[int, str]] = []
    after, attempt, reads = 0, None, 0
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, f"the stream did not end in {timeout} s: {got}"
        query = f"?after={after}&wait=10" + (f"&attempt={attempt}" if attempt else "")
        answer = get(url + query)
        reads += 1
        assert answer.status == 200, answer.body
        body = answer.body
        assert "newAttempt" not in body
        got += [(c["offset"], c["text"]) for c in body["chunks"]]
        attempt, after = body["attempt"], body["next"]
        if body["done"]:
            return got, reads
