"""Rewind on devhost, as the Durable extension does it for failed instances (plain SDK app).

Mirrors DurableTask.AzureStorage ``AzureTableTrackingStore.RewindHistoryAsync`` (failed activities and
sub-orchestrations of the last execution are cleared from the history, failed children are rewound in
turn, the deepest failed instances are woken with a generic event) and the extension's
``HttpApiHandler.HandleRewindInstanceRequestAsync`` (404 unknown, 410 completed or terminated, 202).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS, call, finished, start_raw, status

WEBHOOK = "/runtime/webhooks/durabletask/instances"


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rewind-app")


@pytest.fixture(scope="module")
def host(state_dir: Path) -> Iterator[DevHostHandle]:
    with run_devhost(APPS / "rewind", settings={"REWIND_APP_STATE": str(state_dir)}) as handle:
        yield handle


def calls(state_dir: Path) -> list[str]:
    log = state_dir / "calls.log"
    return log.read_text().split() if log.exists() else []


def rewind(host: DevHostHandle, iid: str, reason: str = "fixed") -> int:
    return call("POST", f"{host.base_url}{WEBHOOK}/{iid}/rewind?reason={reason}").status


def run_failed(host: DevHostHandle, name: str, iid: str) -> dict:
    assert start_raw(host, name, None, instance_id=iid).status == 202
    done = finished(host, iid)
    assert done["runtimeStatus"] == "Failed", done
    return done


def test_a_rewound_chain_runs_only_its_failed_activity_again(host: DevHostHandle, state_dir: Path) -> None:
    run_failed(host, "chain", "chain-1")
    assert calls(state_dir).count("ok:a") == 1 and calls(state_dir).count("fixable:b") == 1
    (state_dir / "fixed-b").touch()
    assert rewind(host, "chain-1") == 202
    done = finished(host, "chain-1")
    assert done["runtimeStatus"] == "Completed" and done["output"] == ["A", "fixed b", "C"]
    # "a" completed before the failure and is replayed from the history, not run again.
    assert calls(state_dir).count("ok:a") == 1 and calls(state_dir).count("fixable:b") == 2
    history = call("GET", f"{host.base_url}{WEBHOOK}/chain-1?showHistory=true").json["historyEvents"]
    kinds = [e["EventType"] for e in history]
    assert "TaskFailed" not in kinds and kinds.count("GenericEvent") >= 2  # the failure, rewound
    assert any(e.get("Data") == "Rewound: TaskFailed" for e in history)


def test_a_rewound_fan_out_reruns_the_failed_branch_only(host: DevHostHandle, state_dir: Path) -> None:
    run_failed(host, "fan", "fan-1")
    (state_dir / "fixed-y").touch()
    assert rewind(host, "fan-1") == 202
    done = finished(host, "fan-1")
    assert done["output"] == ["X", "fixed y", "Z"]
    assert calls(state_dir).count("ok:x") == 1 and calls(state_dir).count("ok:z") == 1
    assert calls(state_dir).count("fixable:y") == 2


def test_a_rewind_reaches_into_a_failed_sub_orchestration(host: DevHostHandle, state_dir: Path) -> None:
    (state_dir / "fixed-b").unlink(missing_ok=True)
    run_failed(host, "parent", "parent-1")
    assert status(host, "parent-1-child").json["runtimeStatus"] == "Failed"
    (state_dir / "fixed-b").touch()
    assert rewind(host, "parent-1") == 202
    done = finished(host, "parent-1")
    assert done["runtimeStatus"] == "Completed" and done["output"] == ["P", ["A", "fixed b", "C"]]
    assert status(host, "parent-1-child").json["runtimeStatus"] == "Completed"
    assert calls(state_dir).count("ok:p") == 1


def test_only_a_failed_instance_can_be_rewound(host: DevHostHandle) -> None:
    assert rewind(host, "no-such-instance") == 404
    assert start_raw(host, "waits", None, instance_id="live-1").status == 202
    host.wait_until_idle()
    live = call("POST", f"{host.base_url}{WEBHOOK}/live-1/rewind")
    assert live.status == 409 and "only a failed instance" in live.json["Message"]
    call("POST", f"{host.base_url}{WEBHOOK}/live-1/raiseEvent/go", "done")
    assert finished(host, "live-1")["runtimeStatus"] == "Completed"
    assert rewind(host, "live-1") == 410


def test_a_rewind_survives_a_restart_of_the_host(state_dir: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    (state_dir / "fixed-b").unlink(missing_ok=True)
    settings = {"REWIND_APP_STATE": str(state_dir)}
    with run_devhost(APPS / "rewind", state=state, settings=settings) as first:
        run_failed(first, "chain", "durable-1")
    (state_dir / "fixed-b").touch()
    with run_devhost(APPS / "rewind", state=state, settings=settings) as second:
        assert rewind(second, "durable-1") == 202
    with run_devhost(APPS / "rewind", state=state, settings=settings) as third:
        assert finished(third, "durable-1")["output"] == ["A", "fixed b", "C"]
