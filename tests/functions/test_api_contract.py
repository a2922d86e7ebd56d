"""The workflow API as its OpenAPI document describes it, on devhost with the app's own workflows: what
schemathesis found (tests/functions/test_schemathesis.py fuzzes the whole document), each kept fixed here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHostHandle, run_devhost
from tests.durable.http import finished, get, post, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(ROOT, settings={"APPROVAL_SIGNING_KEY": "contract-key-not-a-secret"}) as handle:
        yield handle


@pytest.fixture
def api(host: DevHostHandle) -> str:
    return f"{host.api_url}/workflows"


def test_a_run_its_orchestrator_failed_is_read_not_a_500(api: str) -> None:
    """The example's receive_claim rounds 0.001 EUR to 0.0, which its own output type refuses: the
    orchestrator raises and the host fails the run. Its view, feed and rewind folded the history into
    the same exception (500); the fold now says failed."""
    run = post(
        f"{api}/expense_claim?instanceId=rounded-to-zero", {"employee": "a", "title": "t", "amount": 0.001}
    )
    assert run.status == 202, run.body
    view = wait_for(f"{api}/expense_claim/runs/rounded-to-zero", finished)
    assert view.status == 200, view.body
    assert view.body["runtimeStatus"] == "Failed"
    assert view.body["error"]["type"] == "OrchestrationFailed"
    assert "greater than 0" in view.body["error"]["message"]  # the host's message: the example's bug
    timeline = get(f"{api}/expense_claim/runs/rounded-to-zero?timeline=true")
    assert timeline.status == 200, timeline.body
    feed = get(f"{api}/expense_claim/runs/rounded-to-zero/events")
    assert feed.status == 200 and feed.body["finished"], feed.body
    rewound = post(f"{api}/expense_claim/runs/rounded-to-zero/rewind", {})
    assert rewound.status in (202, 409), rewound.body


def test_an_instance_id_with_a_trailing_newline_is_refused(api: str) -> None:
    """``$`` matched before the newline: ``abc%0A`` started a run named ``abc``."""
    body = {"order_id": "ORD-201200", "reason": "Found it cheaper elsewhere"}
    started = post(f"{api}/order_cancellation?instanceId=nl-run%0A", body)
    assert started.status == 400 and started.body["field"] == "instanceId", started.body
    assert get(f"{api}/order_cancellation/runs/nl-run").status == 404
