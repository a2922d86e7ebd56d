"""kill -9 devhost mid-run, restart it on the same SQLite file: the run completes with the right output."""

from __future__ import annotations

import socket
from pathlib import Path

from devhost.testing import DevHostProcess
from tests.durable.conftest import ROOT, SETTINGS
from tests.durable.http import finished, get, post, wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kill_9_mid_run_then_restart_completes(tmp_path: Path) -> None:
    state, port = tmp_path / "state.sqlite", _free_port()
    api = f"http://127.0.0.1:{port}/api/workflows"
    process = DevHostProcess(ROOT, state, port, settings=SETTINGS)
    process.start()
    try:
        run = post(f"{api}/t_slow", {"seconds": 1.5}).body["runUri"]
        wait_for(run, lambda r: r.status == 200 and r.body["running"], timeout=30)
        process.kill9()
        process.start()
        view = wait_for(run, finished, timeout=60).body
        assert view["runtimeStatus"] == "Completed"
        assert view["outputs"] == [[0, 1, 2, 3]]
        history = get(
            f"http://127.0.0.1:{port}/runtime/webhooks/durabletask/instances/{view['instanceId']}?showHistory=true"
        ).body["historyEvents"]
        assert history[0]["EventType"] == "ExecutionStarted"
        assert history[-1]["EventType"] == "ExecutionCompleted"
    finally:
        process.stop()
