"""Safe deploys on the Durable Task runner: serve and its worker are stopped and started again on new code
while the task hub lives on in a sidecar; a run replays only on the graph it started on."""

from __future__ import annotations

from pathlib import Path

from tests.durable.hostings import engine_serve
from tests.durable.http import finished, get, post, wait_for
from tests.durable_task.sidecar import memory_sidecar


def start(api: str) -> str:
    reply = post(f"{api}/t_deploy", {"value": 5})
    assert reply.status == 202, reply.body
    return reply.body["runUri"].rsplit("/", 1)[1]


def test_a_redeploy_keeps_runs_on_their_own_version_and_refuses_a_dropped_one(tmp_path: Path) -> None:
    with memory_sidecar(tmp_path / "sidecar.log") as port:
        backend = f"durabletask:localhost:{port}"
        with engine_serve("tests.durable.versioned_v1", tmp_path / "v1.log", backend=backend) as served:
            api = f"{served.api_url}/workflows"
            kept, dropped = start(api), start(api)
            for instance in (kept, dropped):
                assert get(f"{api}/t_deploy/runs/{instance}?wait=30").body["pendingApprovals"]
        # Version 2 deployed, version 1 kept: the run goes on on its own graph.
        with engine_serve("tests.durable.versioned", tmp_path / "v1v2.log", backend=backend) as served:
            api = f"{served.api_url}/workflows"
            run = f"{api}/t_deploy/runs/{kept}"
            pending = get(run).body["pendingApprovals"][0]
            assert post(pending["respond_uri"], {"approved": True}).status == 202
            view = wait_for(f"{run}?wait=30", finished).body
            assert view["outputs"] == ["final:50"] and view["version"] == "1", view
            assert "times_hundred" not in view["executors"]
        # Version 1 gone: the run says why, and an answer is refused rather than taken on another graph.
        with engine_serve("tests.durable.versioned_v2", tmp_path / "v2.log", backend=backend) as served:
            run = f"{served.api_url}/workflows/t_deploy/runs/{dropped}"
            view = get(run).body
            assert "version '1'" in view["versionProblem"], view
            listed = get(f"{served.api_url}/workflows/t_deploy/versions").body
            assert listed["unfinished_runs_elsewhere"] == {"1": 1}, listed
