"""Rewind through the workflow API, on devhost and on the Durable Task runner: a run that failed for good
goes on once the fix is deployed.

The failed step runs again (its final failure was a failed activity, which the rewind clears); the steps
that succeeded are kept, including the fan-out sibling that finished after the failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import run_devhost
from tests.durable.conftest import ROOT, SIGNING_KEY
from tests.durable.hostings import HOSTINGS, engine_serve
from tests.durable.http import finished, get, post, wait_for


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fixable")


@pytest.fixture(scope="module", params=HOSTINGS)
def api(request: pytest.FixtureRequest, files: Path) -> Iterator[str]:
    """Each hosting with the fixable workflow; its log and fix files are per hosting."""
    folder = files / request.param
    folder.mkdir()
    settings = {
        "WORKFLOW_MODULES": "tests.durable.fixable",
        "APPROVAL_SIGNING_KEY": SIGNING_KEY,
        "FIXABLE_LOG": str(folder / "steps.log"),
        "FIXABLE_FIXED": str(folder / "fixed"),
    }
    if request.param == "devhost":
        with run_devhost(ROOT, state=folder / "state.sqlite", in_memory=False, settings=settings) as host:
            yield f"{host.api_url}/workflows"
        return
    with engine_serve(settings["WORKFLOW_MODULES"], folder / "serve.log", extra=settings) as served:
        yield f"{served.api_url}/workflows"


@pytest.fixture
def hosted_files(request: pytest.FixtureRequest, files: Path) -> Path:
    return files / request.node.callspec.params["api"]


def steps(files: Path) -> list[str]:
    return (files / "steps.log").read_text().split()


def test_a_failed_run_goes_on_after_the_fix_and_a_rewind(api: str, hosted_files: Path) -> None:
    files = hosted_files
    run = post(f"{api}/t_fixable", {"name": "a"}).body["runUri"]
    failed = wait_for(f"{run}?wait=30", finished).body
    assert failed["runtimeStatus"] == "Failed" and failed["error"]["executor_id"] == "check", failed
    assert "cannot handle 'a' yet" in failed["error"]["message"]
    timeline = get(f"{run}?timeline=true").body["timeline"]["entries"]
    checks = [e for e in timeline if e["kind"] == "step" and e["executor"] == "check"]
    # It failed for good as a failed activity; the timeline still reads its result.
    assert [(e["attempt"], e["ok"], e["error"]["type"]) for e in checks] == [(1, False, "RuntimeError")]
    # price, still running when check failed, finished before the run was failed.
    assert steps(files).count("price:a") == 1
    (files / "fixed").touch()
    rewound = post(f"{run}/rewind", {"reason": "check fixed in build 42"})
    assert rewound.status == 202 and rewound.body["waitUri"].endswith("?wait=30&until=finished")
    done = wait_for(rewound.body["waitUri"], finished).body
    assert done["runtimeStatus"] == "Completed" and done["outputs"] == ["a checked + a priced"], done
    # Only the step that failed for good ran again; split and the sibling price were kept.
    assert steps(files).count("check:a") == 2
    assert steps(files).count("price:a") == 1 and steps(files).count("split:a") == 1
    assert post(f"{run}/rewind").status == 410


def test_only_a_failed_run_can_be_rewound(api: str) -> None:
    assert post(f"{api}/t_fixable/runs/no-such-run/rewind").status == 404
    waiting = post(f"{api}/t_waits", {"name": "w"}).body["runUri"]
    assert get(f"{waiting}?wait=30").body["pendingApprovals"]
    refused = post(f"{waiting}/rewind")
    assert refused.status == 409 and "only a failed run can be rewound" in refused.body["error"]
    assert post(f"{waiting}/rewind", raw=b"{not json").status in (400, 409)
    post(f"{waiting}/terminate", {"reason": "done"})
    wait_for(f"{waiting}?wait=30", finished)
    assert post(f"{waiting}/rewind").status == 410
