"""The workflow API as its OpenAPI document describes it, on devhost with the app's own workflows: what
schemathesis found (tests/functions/test_schemathesis.py fuzzes the whole document), each kept fixed here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHostHandle, run_devhost
from engine.functions.api_models import (
    AnswerAccepted,
    IssuedLink,
    RunAccepted,
    StartedRun,
    VersionList,
    WorkflowList,
)
from engine.functions.feed import Feed
from engine.functions.view_models import PendingApprovalEntry, RunsPage, RunView
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


def test_devhost_says_whether_it_checks_keys_and_the_document_follows(host: DevHostHandle) -> None:
    """Open mode: the served document asks for no key. With --require-keys, keys go through the scheme."""
    open_ = get(f"{host.api_url}/openapi.json").body
    assert "security" not in open_ and "no function keys" in open_["info"]["description"]
    with run_devhost(ROOT, require_keys=True) as keyed:
        keys = keyed.host.keys
        assert keys is not None
        assert get(f"{keyed.api_url}/openapi.json").status == 401
        document = get(f"{keyed.api_url}/openapi.json", headers={"x-functions-key": keys.function}).body
        assert document["security"] == [{"functionKey": []}, {"functionKeyHeader": []}]
        assert get(f"{keyed.api_url}/runs?code={keys.function}").status == 200
    assert "security" not in get(f"{host.api_url}/openapi.json").body  # the setting is restored


@pytest.fixture(scope="module")
def finished_run(host: DevHostHandle) -> str:
    """The run view of a run that has finished (an order not found: it fails before any approval)."""
    api = f"{host.api_url}/workflows"
    body = {"order_id": "ORD-999999", "reason": "Found it cheaper elsewhere"}
    assert post(f"{api}/order_cancellation?instanceId=finished-run", body).status == 202
    wait_for(f"{api}/order_cancellation/runs/finished-run", finished)
    return f"{api}/order_cancellation/runs/finished-run"


@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b"\n",  # whitespace is no JSON document (only no body at all is)
        b"[]",
        b'{"reason": 5}',
        b'{"reason": "x", "other": 1}',
        b'{"\\ud800": 1}',  # a lone surrogate as a key
        '{"\U0001f4a5": 1}'.encode(),  # a key outside the BMP
        b'{"\\udbb4\\udd63": {}}',
    ],
)
def test_terminate_and_rewind_refuse_a_bad_body_whatever_the_run(finished_run: str, body: bytes) -> None:
    """A body the document calls invalid is a 400, before the run's state is read (a finished run's 410
    is for valid requests only)."""
    run = finished_run
    for action in ("terminate", "rewind"):
        reply = post(f"{run}/{action}", raw=body)
        assert reply.status == 400, (action, reply.status, reply.body)
        if body.strip():  # JSON, of the wrong shape: each wrong field is named
            assert reply.body["error"] == "invalid body" and reply.body["errors"], reply.body
    assert post(f"{run}/terminate", raw=b"").status == 410  # no body at all is a valid request


def test_answers_and_links_are_checked_before_the_run_is(finished_run: str) -> None:
    run = finished_run
    answer = post(f"{run}/approvals/manager_approval-s2-0", {"approved": "yes"})
    assert answer.status == 400 and answer.body["errors"][0]["field"] == "approved", answer.body
    assert post(f"{run}/approvals/manager_approval-s2-0", {"approved": True, "extra": 1}).status == 400
    assert post(f"{run}/approvals/manager_approval-s2-0", {"approved": True}).status == 410
    link = post(f"{run}/approvals/manager_approval-s2-0/links", {"for": ""})
    assert link.status == 400 and link.body["errors"][0]["field"] == "for", link.body
    assert post(f"{run}/approvals/manager_approval-s2-0/links", {"for": "ada"}).status == 410


@pytest.mark.parametrize(
    "query",
    [
        "top=",  # empty is no whole number
        "top=%D9%A3",  # an Arabic-Indic three: int() takes it, the document does not
        "top=1_0",
        "top=+5",
        "skip=-1",
        "status=bogus",
    ],
)
def test_runs_list_parameters_are_checked(api: str, query: str) -> None:
    reply = get(f"{api}/order_cancellation/runs?{query}")
    assert reply.status == 400 and reply.body["field"] == query.split("=")[0], reply.body


@pytest.mark.parametrize("query", ["wait=", "timeline=1", "timeline=yes", "until=bogus", "approvals_top=0"])
def test_run_view_parameters_are_checked(finished_run: str, query: str) -> None:
    reply = get(f"{finished_run}?{query}")
    assert reply.status == 400 and reply.body["field"] == query.split("=")[0], reply.body


@pytest.mark.parametrize("code", ["%0A%01", "%00", "%ED%A0%80", "%FF", "%F3%B3%91%94"])
def test_a_key_with_control_characters_is_ignored_where_no_key_is_checked(
    finished_run: str, code: str
) -> None:
    """The key is the host's business: in open mode the app reads neither ?code= nor its characters."""
    for tail in ("", "/events"):
        reply = get(f"{finished_run}{tail}?code={code}")
        assert reply.status == 200, (tail, reply.body)


def test_every_answer_matches_its_published_model(host: DevHostHandle) -> None:
    """The models OpenAPI publishes, against real answers of every route (the fuzzer meets some of them
    only by chance: an open request to answer, a link to issue)."""
    api, run = f"{host.api_url}/workflows", f"{host.api_url}/workflows/expense_claim/runs/shapes"
    WorkflowList.model_validate(get(api).body)
    VersionList.model_validate(get(f"{api}/expense_claim/versions").body)
    body = {"employee": "ada", "title": "Travel", "amount": 1250}
    StartedRun.model_validate(post(f"{api}/expense_claim?instanceId=shapes", body).body)
    view = wait_for(run, lambda r: bool(r.body["pendingApprovals"])).body
    RunView.model_validate(view)
    request_id = view["pendingApprovals"][0]["request_id"]
    PendingApprovalEntry.model_validate(get(f"{run}/approvals/{request_id}").body)
    link = post(f"{run}/approvals/{request_id}/links", {"for": "ada"})
    assert link.status == 201, link.body
    IssuedLink.model_validate(link.body)
    answer = post(f"{run}/approvals/{request_id}", {"approved": True, "comment": "ok"})
    assert answer.status == 202, answer.body
    AnswerAccepted.model_validate(answer.body)
    view = wait_for(f"{run}?timeline=true", finished).body
    RunView.model_validate(view)
    Feed.model_validate(get(f"{run}/events").body)
    RunsPage.model_validate(get(f"{host.api_url}/runs").body)
    other = post(f"{api}/expense_claim?instanceId=shapes-2", body)
    assert other.status == 202
    RunAccepted.model_validate(post(f"{api}/expense_claim/runs/shapes-2/terminate").body)
