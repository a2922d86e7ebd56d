"""kill -9 in the middle of a fan-out; a new process on the same state file finishes the job."""

from __future__ import annotations

import time

from devhost.testing import DevHostProcess
from tests.devhost.helpers import APPS, call

WEBHOOK = "/runtime/webhooks/durabletask"


def _wait_finished(proc: DevHostProcess, iid: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = call(
            "GET", f"{proc.base_url}{WEBHOOK}/instances/{iid}?showHistory=true&showHistoryOutput=true"
        )
        if reply.status == 200:
            return reply.json
        time.sleep(0.1)
    raise AssertionError(f"instance {iid} did not finish")


def test_kill9_mid_fan_out_then_restart_completes(tmp_path):
    state = tmp_path / "state.sqlite"
    proc = DevHostProcess(APPS / "slow_fanout", state).start()
    try:
        reply = call("POST", f"{proc.base_url}{WEBHOOK}/orchestrators/slow_fan_out/crash-1", 12)
        assert reply.status == 202, reply.text
        # Wait until the fan-out is under way (some results recorded), then kill without warning.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            hist = call("GET", f"{proc.base_url}{WEBHOOK}/instances/crash-1?showHistory=true").json
            if [e["EventType"] for e in hist.get("historyEvents", [])].count("TaskCompleted") >= 2:
                break
            time.sleep(0.05)
    finally:
        proc.kill9()

    again = DevHostProcess(APPS / "slow_fanout", state, port=proc.port).start()
    try:
        done = _wait_finished(again, "crash-1")
    finally:
        again.stop()
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == {"sum": sum(i * i for i in range(12)), "last": 9}
    kinds = [e["EventType"] for e in done["historyEvents"]]
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionCompleted"
    assert kinds.count("ExecutionStarted") == 1 and kinds.count("ExecutionCompleted") == 1
    # Every scheduled task completed exactly once in the recorded history.
    ids = [e["EventId"] for e in done["historyEvents"] if e["EventType"] == "TaskCompleted"]
    assert kinds.count("TaskCompleted") == 13
    assert all(
        e["FunctionName"] == "slow_square" for e in done["historyEvents"] if e["EventType"] == "TaskCompleted"
    )
    assert len(ids) == 13
