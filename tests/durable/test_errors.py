"""Every error path of the workflow HTTP API: a clear 4xx naming what is wrong, never a 500."""

from __future__ import annotations

from tests.durable.conftest import token_for
from tests.durable.http import finished, get, post, wait_for, waiting


def test_unknown_workflow_is_404(api: str) -> None:
    reply = post(f"{api}/nope", {"value": 1})
    assert reply.status == 404
    assert reply.body["error"] == "unknown workflow 'nope'"
    assert get(f"{api}/nope/runs/abc").status == 404


def test_invalid_input_is_400_naming_the_field(api: str) -> None:
    reply = post(f"{api}/expense_claim", {"employee": "ada", "title": "x", "amount": -3})
    assert reply.status == 400
    assert reply.body["errors"][0]["field"] == "amount"
    assert "greater than 0" in reply.body["errors"][0]["message"]


def test_missing_field_is_400(api: str) -> None:
    reply = post(f"{api}/expense_claim", {"title": "x", "amount": 3})
    assert reply.status == 400
    assert [e["field"] for e in reply.body["errors"]] == ["employee"]


def test_malformed_json_and_empty_body_are_400(api: str) -> None:
    reply = post(f"{api}/t_chain", raw=b"{nope")
    assert reply.status == 400 and "not valid JSON" in reply.body["error"]
    assert post(f"{api}/t_chain", raw=b"").status == 400


def test_instance_id_in_use_is_409_and_a_bad_one_400(api: str) -> None:
    first = post(f"{api}/t_chain?instanceId=fixed-id-1", {"value": 1})
    assert first.status == 202
    wait_for(first.body["runUri"], finished)
    again = post(f"{api}/t_chain?instanceId=fixed-id-1", {"value": 1})
    assert again.status == 409 and again.body["field"] == "instanceId"
    bad = post(f"{api}/t_chain?instanceId=../../etc", {"value": 1})
    assert bad.status == 400 and bad.body["field"] == "instanceId"
    # ':' names a run's sub-workflow runs and map partitions: a chosen run id could take one's place.
    taken = post(f"{api}/t_chain?instanceId=other:t_map:2:p1", {"value": 1})
    assert taken.status == 400 and taken.body["field"] == "instanceId" and "':'" in taken.body["error"]


def test_run_of_another_workflow_is_404(api: str) -> None:
    run = post(f"{api}/t_chain", {"value": 1}).body
    assert get(f"{api}/t_switch/runs/{run['id']}").status == 404
    assert get(f"{api}/t_chain/runs/never-started").status == 404


def test_approval_errors(api: str) -> None:
    run = post(f"{api}/t_approval", {"item": "x", "amount": 1}).body["runUri"]
    pending = wait_for(run, waiting).body["pendingApprovals"][0]
    invalid = post(pending["respond_uri"], {"approved": "sure"})
    assert invalid.status == 400 and invalid.body["errors"][0]["field"] == "approved"
    unknown = post(f"{run}/approvals/ask-s99-0?token={token_for(run, 'ask-s99-0')}", {"approved": True})
    assert unknown.status == 404
    assert post(pending["respond_uri"], {"approved": True}).status == 202
    wait_for(run, finished)
    assert post(pending["respond_uri"], {"approved": True}).status == 410


def test_answered_approval_is_409_while_the_run_goes_on(api: str) -> None:
    run = post(f"{api}/t_two_approvals", {"item": "x", "amount": 2}).body["runUri"]
    first = wait_for(run, waiting).body["pendingApprovals"][0]
    assert post(first["respond_uri"], {"approved": True}).status == 202
    view = wait_for(run, lambda r: r.body["pendingApprovals"] and r.body["pendingApprovals"][0] != first).body
    assert view["pendingApprovals"][0]["approval_id"] == "ask_second"
    fresh = token_for(run, first["request_id"])
    reply = post(f"{run}/approvals/{first['request_id']}?token={fresh}", {"approved": True})
    assert reply.status == 409
    assert "already been answered" in reply.body["error"]


def test_terminate_unknown_run_is_404(api: str) -> None:
    assert post(f"{api}/t_chain/runs/not-there/terminate").status == 404
