"""Episodes finishing in the same loop turn share one commit, and a client never reads past it.

The probe runs on devhost's own loop once per loop iteration, so it sees an episode's batch while it is
still pending (the group commit runs one iteration later) and reads the instance the way the status API
does, then looks at the state file through a second SQLite connection.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from devhost.testing import _shared_loop, run_devhost
from tests.devhost.helpers import APPS, call

WEBHOOK = "/runtime/webhooks/durabletask"


def _stored_status(state: Path, iid: str) -> str | None:
    with sqlite3.connect(state) as db:
        row = db.execute("SELECT record FROM instances WHERE instance_id = ?", (iid,)).fetchone()
    return json.loads(row[0])["status"] if row else None


async def _when_completion_pending(task_hub: Any, iid: str, then: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``then`` on the loop as soon as the episode completing ``iid`` waits for its commit."""
    for _ in range(200_000):
        pending = task_hub._pending.instances.get(iid)
        if pending is not None and pending.status == "Completed":
            return await then()
        await asyncio.sleep(0)
    raise AssertionError("the completing episode was never seen pending")


def test_a_status_read_commits_the_pending_episode_first(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with run_devhost(APPS / "durable_basic", state=state) as host:
        task_hub = host.host.task_hub

        async def read() -> dict[str, Any]:
            before = _stored_status(state, "gc-1")
            seen = task_hub.record("gc-1")
            return {"before": before, "seen": seen.status, "after": _stored_status(state, "gc-1")}

        probe = asyncio.run_coroutine_threadsafe(
            _when_completion_pending(task_hub, "gc-1", read), _shared_loop()
        )
        reply = call("POST", f"{host.base_url}{WEBHOOK}/orchestrators/chaining/gc-1", None)
        assert reply.status == 202, reply.text
        got = probe.result(timeout=30)
    # The completion was only in memory when the probe saw it; the read committed it before answering.
    assert got["before"] != "Completed"
    assert got["seen"] == "Completed" and got["after"] == "Completed"


def test_a_purge_is_not_undone_by_a_pending_episode(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with run_devhost(APPS / "durable_basic", state=state) as host:
        task_hub = host.host.task_hub
        probe = asyncio.run_coroutine_threadsafe(
            _when_completion_pending(task_hub, "gc-2", lambda: task_hub.purge(["gc-2"])), _shared_loop()
        )
        assert call("POST", f"{host.base_url}{WEBHOOK}/orchestrators/chaining/gc-2", None).status == 202
        assert probe.result(timeout=30) == 1
        host.wait_until_idle()
        assert call("GET", f"{host.base_url}{WEBHOOK}/instances/gc-2").status == 404
    assert _stored_status(state, "gc-2") is None
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT count(*) FROM history WHERE instance_id = 'gc-2'").fetchone() == (0,)
