"""devhost for the stream tests: the stream workflow served, the offline model slowed to a word each
``delay_ms``, so a reader (or a browser) sees the text arrive."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devhost.testing import DevHostHandle, run_devhost

ROOT = Path(__file__).resolve().parents[2]
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
def stream_host(state: Path, delay_ms: int) -> Iterator[DevHostHandle]:
    """devhost in this process on the SQLite state file ``state`` (streams beside it)."""
    with run_devhost(ROOT, state=state, in_memory=False, settings=stream_settings(delay_ms)) as handle:
        yield handle
