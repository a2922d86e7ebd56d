"""``python -m engine replay-check``: recorded runs from a running app, devhost's state file or exported
JSON, replayed on the code of the app folder, with a verdict per run and the exit code CI needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHostProcess
from tests.durable.conftest import ROOT, SIGNING_KEY
from tests.durable.http import get, post


def replay_check(*args: str, modules: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WORKFLOW_MODULES": modules}
    return subprocess.run(
        [sys.executable, "-m", "engine", "replay-check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostProcess]:
    """devhost serving version 1 of t_deploy, with one run waiting at its approval."""
    state = tmp_path_factory.mktemp("replay-check") / "state.sqlite"
    settings = {"WORKFLOW_MODULES": "tests.durable.versioned_v1", "APPROVAL_SIGNING_KEY": SIGNING_KEY}
    process = DevHostProcess(ROOT, state, settings=settings)
    process.start()
    try:
        run = post(f"{process.base_url}/api/workflows/t_deploy", {"value": 5}).body["runUri"]
        assert get(f"{run}?wait=30").body["pendingApprovals"]
        yield process
    finally:
        process.stop()


def test_a_running_app_s_runs_replay_cleanly_when_their_version_is_kept(host: DevHostProcess) -> None:
    done = replay_check("--url", host.base_url, modules="tests.durable.versioned")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(t_deploy version 1): replays cleanly" in done.stdout
    assert "1 run checked: 1 replays cleanly, 0 would break" in done.stdout


def test_a_deploy_that_drops_their_version_would_break_them(host: DevHostProcess) -> None:
    done = replay_check("--url", host.base_url, modules="tests.durable.versioned_v2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "would break because workflow 't_deploy': this run started on version '1'" in done.stdout
    assert "it serves 2" in done.stdout


def test_the_state_file_and_exported_json_give_the_same_verdicts(
    host: DevHostProcess, tmp_path: Path
) -> None:
    host.stop()
    try:
        from_state = replay_check("--state", str(host.state), modules="tests.durable.versioned_v2")
        exported = subprocess.run(
            [sys.executable, "-m", "devhost.export", "--state", str(host.state)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        (tmp_path / "runs.json").write_text(exported.stdout)
        from_file = replay_check(str(tmp_path), modules="tests.durable.versioned_v2")
        kept = replay_check(str(tmp_path / "runs.json"), modules="tests.durable.versioned")
    finally:
        host.start()
    assert len(json.loads(exported.stdout)["runs"]) == 1
    assert from_state.returncode == from_file.returncode == 1
    assert from_state.stdout == from_file.stdout
    assert kept.returncode == 0 and "replays cleanly" in kept.stdout


def test_clear_errors_for_missing_or_unreadable_sources(tmp_path: Path) -> None:
    nothing = replay_check(modules="tests.durable.versioned")
    assert nothing.returncode == 2 and "needs recorded runs" in nothing.stderr
    unreachable = replay_check("--url", "http://127.0.0.1:9", modules="tests.durable.versioned")
    assert unreachable.returncode == 2 and "cannot read" in unreachable.stderr
    (tmp_path / "bad.json").write_text("{not json")
    bad = replay_check(str(tmp_path / "bad.json"), modules="tests.durable.versioned")
    assert bad.returncode == 2 and "bad.json" in bad.stderr
    missing = replay_check("--state", str(tmp_path / "none.sqlite"), modules="tests.durable.versioned")
    assert missing.returncode == 2 and "no devhost state file" in missing.stderr
