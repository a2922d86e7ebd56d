"""The deploy campaign: runs paused at four points, then the app redeployed with each kind of change.

Runs of ``tests.durable.deploys`` pause inside a fan-out, mid-loop, in the step before an approval and
at the approval. devhost is then restarted on the same state file with changed code: a step added,
removed or renamed, a type changed, a condition changed, an approval's timeout changed, and a condition's
body changed under the same name (same version label and fingerprint). Once with the old version kept
beside the new one, once with it dropped.

Every run must either complete on its own version with the output the in-memory runner gives for that
version, or stop with a named error, and then complete (after a rewind when it failed) once the old
version is back. No run may complete on a graph it did not start on. ``replay-check`` must predict,
before each deploy, exactly the runs that the deploy breaks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevHostProcess
from engine import InMemoryRunner, Workflow
from engine.durable.history_sources import from_devhost_state
from engine.durable.replay_check import replay_check
from tests.durable import deploys
from tests.durable.conftest import ROOT, SIGNING_KEY
from tests.durable.http import Reply, finished, get, post, wait_for

MODULES = {"v1": "tests.durable.deploys_v1", "kept": "tests.durable.deploys_kept"}
MODULES["dropped"] = "tests.durable.deploys_dropped"
TIMEOUT = 90.0


@dataclass(frozen=True)
class Run:
    kind: str
    point: str
    uri: str
    instance_id: str
    respond_uri: str | None = None  # the approval's link, for a run paused at it

    @property
    def key(self) -> str:
        return f"{self.kind}.{self.point}"


def expected(workflow: Workflow, key: str) -> list[Any]:
    """The outputs the in-memory runner gives for this graph, the approval approved."""

    async def run() -> list[Any]:
        runner = InMemoryRunner([workflow])
        result = await runner.run(workflow, {"key": key, "value": 1})
        while result.status == "waiting_for_approval":
            answers = {p.request_id: {"approved": True} for p in result.pending_approvals}
            result = await runner.resume(result.state, answers)
        assert result.status == "completed", result.error
        return result.outputs_json()

    return asyncio.run(run())


@pytest.fixture
def gates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "gates"
    folder.mkdir()
    monkeypatch.setenv("DEPLOY_CAMPAIGN_GATES", str(folder))
    return folder


@pytest.fixture
def host(tmp_path: Path, gates: Path) -> Iterator[DevHostProcess]:
    settings = {
        "WORKFLOW_MODULES": MODULES["v1"],
        "APPROVAL_SIGNING_KEY": SIGNING_KEY,
        "DEPLOY_CAMPAIGN_GATES": str(gates),
    }
    process = DevHostProcess(ROOT, tmp_path / "state.sqlite", settings=settings)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def deploy(host: DevHostProcess, module: str) -> None:
    """Start the stopped host on the same state file with the code of ``module``."""
    host.settings = {**host.settings, "WORKFLOW_MODULES": MODULES[module]}
    host.start()


def pause_every_run(host: DevHostProcess, gates: Path) -> list[Run]:
    api = f"{host.base_url}/api/workflows"
    runs = []
    for kind in deploys.KINDS:
        for point in deploys.POINTS:
            reply = post(f"{api}/t_dep_{kind}", {"key": f"{kind}.{point}", "value": 1, "pause_at": point})
            assert reply.status == 202, reply.body
            runs.append(Run(kind, point, reply.body["runUri"], reply.body["id"]))
    deadline = time.monotonic() + TIMEOUT
    paused = []
    for run in runs:
        if run.point == "approval":
            pending = get(f"{run.uri}?wait=60").body["pendingApprovals"]
            assert pending, run
            paused.append(Run(run.kind, run.point, run.uri, run.instance_id, pending[0]["respond_uri"]))
            continue
        while not (gates / f"held-{run.key}").exists():
            assert time.monotonic() < deadline, f"{run.key} never reached its pause"
            time.sleep(0.05)
        paused.append(run)
    return paused


def release(gates: Path, runs: list[Run]) -> None:
    for run in runs:
        (gates / f"release-{run.key}").touch()


def settled(reply: Reply) -> bool:
    body = reply.body if isinstance(reply.body, dict) else {}
    return finished(reply) or bool(body.get("pendingApprovals")) or bool(body.get("versionProblem"))


def drive(run: Run) -> dict[str, Any]:
    """Answer the run's approval when it asks (when it can be answered) and return its settled view."""
    view = wait_for(f"{run.uri}?wait=20", settled, timeout=TIMEOUT).body
    if view.get("pendingApprovals") and not view.get("versionProblem"):
        answer = post(view["pendingApprovals"][0]["respond_uri"], {"approved": True})
        assert answer.status == 202, answer.body
        view = wait_for(f"{run.uri}?wait=20", finished, timeout=TIMEOUT).body
    return view


def predicted_breaks(state: Path, module: str) -> set[str]:
    """The runs replay-check says the deploy of ``module`` would break (read from the stopped host's file)."""
    workflows = {"v1": deploys.v1, "kept": deploys.kept, "dropped": deploys.changed}[module]()
    verdicts = replay_check(workflows, from_devhost_state(state))
    assert len(verdicts) == len(deploys.KINDS) * len(deploys.POINTS)
    return {v.instance_id for v in verdicts if not v.ok}


def test_with_the_old_version_kept_every_run_completes_on_its_own_version(
    host: DevHostProcess, gates: Path
) -> None:
    runs = pause_every_run(host, gates)
    host.stop()
    assert predicted_breaks(host.state, "v1") == set()
    assert predicted_breaks(host.state, "kept") == set()
    deploy(host, "kept")
    release(gates, runs)
    for run in runs:
        view = drive(run)
        assert view["runtimeStatus"] == "Completed", (run, view.get("error"), view.get("versionProblem"))
        assert view["version"] == "1", run
        assert view["outputs"] == expected(deploys.build(run.kind, "1"), run.key), run


def test_with_the_old_version_dropped_no_run_goes_on_on_another_graph(
    host: DevHostProcess, gates: Path
) -> None:
    runs = pause_every_run(host, gates)
    host.stop()
    # Every run of a relabelled graph, and the same-shape runs whose recorded steps the changed
    # conditions contradict (they ran the loop a third time before reaching check or the approval).
    contradicted = {"same_shape.step", "same_shape.approval"}
    breaking = {r.instance_id for r in runs if r.kind != "same_shape" or r.key in contradicted}
    assert predicted_breaks(host.state, "dropped") == breaking
    deploy(host, "dropped")
    release(gates, runs)
    stopped: list[Run] = []
    for run in runs:
        view = drive(run)
        if run.instance_id not in breaking:
            # Its recorded steps agree with the changed code: it goes on as this version now runs it.
            assert view["runtimeStatus"] == "Completed", (run, view)
            assert view["outputs"] == expected(deploys.build(run.kind, "1-changed"), run.key), run
            continue
        stopped.append(run)
        if run.respond_uri is not None:
            assert view["runtimeStatus"] == "Running" and view["versionProblem"], (run, view)
            refused = post(run.respond_uri, {"approved": True})
            assert refused.status == 409, (run, refused.body)
            continue
        assert view["runtimeStatus"] == "Failed", (run, view)
        error = view["error"]
        if run.kind == "same_shape":
            # The step identity check names both steps: the recorded one and the one the code expects.
            assert "'count'" in error["message"] and "expects 'check'" in error["message"], error
        else:
            assert "version '1'" in error["message"] and "serves 2" in error["message"], error
    # The old version back: failed runs are rewound, waiting ones answered; all finish on version 1.
    host.stop()
    deploy(host, "kept")
    for run in stopped:
        if run.respond_uri is None:
            rewound = post(f"{run.uri}/rewind", {"reason": "version 1 is deployed again"})
            assert rewound.status == 202, (run, rewound.body)
    for run in stopped:
        view = drive(run)
        assert view["runtimeStatus"] == "Completed", (run, view.get("error"), view.get("versionProblem"))
        assert view["outputs"] == expected(deploys.build(run.kind, "1"), run.key), run
