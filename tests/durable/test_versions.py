"""Safe deploys: a run replays only on the graph it started on, several versions of a workflow are
served side by side, and a run whose version is gone says so instead of running on another graph."""

from __future__ import annotations

from pathlib import Path

from devhost.testing import DevHostProcess
from tests.durable.conftest import ROOT, SIGNING_KEY
from tests.durable.http import finished, get, post, wait_for

BOTH = {"WORKFLOW_MODULES": "tests.durable.versioned", "APPROVAL_SIGNING_KEY": SIGNING_KEY}


def settings(module: str) -> dict[str, str]:
    return {**BOTH, "WORKFLOW_MODULES": module}


def start(api: str, query: str = "") -> str:
    reply = post(f"{api}/t_deploy{query}", {"value": 5})
    assert reply.status == 202, reply.body
    return reply.body["runUri"]


def approve_and_finish(run: str) -> dict:
    pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
    assert post(pending["respond_uri"], {"approved": True}).status == 202
    return wait_for(run, finished).body


def test_several_versions_side_by_side_each_run_on_its_own(tmp_path: Path) -> None:
    host = DevHostProcess(ROOT, tmp_path / "state.sqlite", settings=BOTH)
    api = f"{host.base_url}/api/workflows"
    host.start()
    try:
        listed = next(w for w in get(api).body["workflows"] if w["name"] == "t_deploy")
        assert listed["version"] == "2" and listed["versions"] == ["1", "2"]
        old = start(api, "?version=1")
        new = start(api)
        assert get(f"{old}?wait=30").body["version"] == "1"
        assert get(f"{new}?wait=30").body["version"] == "2"
        versions = get(f"{api}/t_deploy/versions").body
        assert [(v["version"], v["unfinished_runs"]) for v in versions["versions"]] == [("1", 1), ("2", 1)]
        assert versions["newest"] == "2"
        assert approve_and_finish(old)["outputs"] == ["final:50"]
        assert approve_and_finish(new)["outputs"] == ["final:500"]
        unknown = post(f"{api}/t_deploy?version=7", {"value": 1})
        assert (
            unknown.status == 404
            and unknown.body["field"] == "version"
            and unknown.body["known"] == ["1", "2"]
        )
    finally:
        host.stop()


def test_a_redeploy_that_keeps_the_old_version_lets_its_runs_finish_on_it(tmp_path: Path) -> None:
    host = DevHostProcess(ROOT, tmp_path / "state.sqlite", settings=settings("tests.durable.versioned_v1"))
    api = f"{host.base_url}/api/workflows"
    host.start()
    try:
        run = start(api)
        assert get(f"{run}?wait=30").body["executors"]["times_ten"] == "done"
        host.stop()
        host.settings = settings("tests.durable.versioned")  # version 2 deployed, version 1 kept
        host.start()
        view = approve_and_finish(run)
        assert view["outputs"] == ["final:50"], "the run went on on its own graph"
        assert view["version"] == "1" and "times_hundred" not in view["executors"]
        assert get(f"{api}/t_deploy/versions").body["versions"][0]["unfinished_runs"] == 0
    finally:
        host.stop()


def test_a_redeploy_that_drops_the_old_version_never_continues_on_the_new_graph(tmp_path: Path) -> None:
    host = DevHostProcess(ROOT, tmp_path / "state.sqlite", settings=settings("tests.durable.versioned_v1"))
    api = f"{host.base_url}/api/workflows"
    host.start()
    try:
        run = start(api)
        pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
        started = post(f"{api}/t_deploy", {"value": 1}).body  # a second run, to answer by raw event
        second = get(f"{started['runUri']}?wait=30").body["pendingApprovals"][0]
        host.stop()
        host.settings = settings("tests.durable.versioned_v2")  # version 1 gone
        host.start()
        view = get(run).body
        assert "version '1'" in view["versionProblem"] and "serves 2" in view["versionProblem"]
        refused = post(pending["respond_uri"], {"approved": True})
        assert refused.status == 409 and "no longer serves" in refused.body["error"]
        # Anything that wakes the run makes the orchestrator fail it, naming both versions.
        event = started["sendEventPostUri"].replace("{eventName}", second["event_name"])
        assert post(event, {"approved": True}).status == 202
        failed = wait_for(started["runUri"], finished).body
        assert failed["runtimeStatus"] == "Failed"
        assert "version '1'" in failed["error"]["message"] and "2 (" in failed["error"]["message"]
    finally:
        host.stop()
