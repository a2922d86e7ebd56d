"""Approvals only the right people can give: signed tokens, named approvers, recorded decisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.durable.conftest import token_for
from tests.durable.http import finished, get, post, wait_for, waiting


def pending_of(api: str, workflow: str, body: dict) -> tuple[str, dict]:
    run = post(f"{api}/{workflow}", body).body["runUri"]
    return run, wait_for(run, waiting).body["pendingApprovals"][0]


def link_for(pending: dict, person: str | None) -> str:
    reply = post(pending["links_uri"], {"for": person})
    assert reply.status == 201, reply.body
    return reply.body["respond_uri"]


def test_views_hand_out_no_tokens_and_the_decision_is_recorded(api: str) -> None:
    run, pending = pending_of(api, "t_approval", {"item": "a", "amount": 1})
    assert "token=" not in pending["respond_uri"] and pending["can_answer"] is True
    assert post(pending["respond_uri"], {"approved": True}).status == 202
    view = wait_for(run, finished).body
    closed = view["closedApprovals"][0]
    assert closed["request_id"] == pending["request_id"]
    assert closed["outcome"] == "answered" and closed["via"] == "endpoint"
    assert closed["at"]


def test_wrong_expired_and_foreign_tokens_are_403(api: str) -> None:
    run, pending = pending_of(api, "t_approval", {"item": "b", "amount": 1})
    request_id = pending["request_id"]
    bare = f"{run}/approvals/{request_id}"
    forged = token_for(run, request_id, secret="another-key")
    assert post(f"{bare}?token={forged}", {"approved": True}).status == 403
    old = datetime.now(UTC) - timedelta(days=30)
    expired = token_for(run, request_id, expires=old, now=old)
    reply = post(f"{bare}?token={expired}", {"approved": True})
    assert reply.status == 403 and "expired" in reply.body["error"]
    foreign = token_for(run, request_id, instance_id="some-other-run")
    assert post(f"{bare}?token={foreign}", {"approved": True}).status == 403
    assert post(f"{bare}?token=garbage", {"approved": True}).status == 403
    assert get(run).body["pendingApprovals"], "a refused answer must leave the approval pending"


def test_a_used_link_is_403_whoever_replays_it(api: str) -> None:
    _, pending = pending_of(api, "t_two_approvals", {"item": "c", "amount": 1})
    link = link_for(pending, "dana")
    assert post(link, {"approved": True}).status == 202
    replay = post(link, {"approved": True})
    assert replay.status == 403 and "already been used" in replay.body["error"]


def test_named_approvers_need_an_identity(api: str) -> None:
    run, pending = pending_of(api, "t_restricted", {"item": "d", "amount": 1})
    assert pending["can_answer"] is False
    anonymous = post(pending["respond_uri"], {"approved": True})
    assert anonymous.status == 401 and "identity" in anonymous.body["error"]
    # Raw events carry no identity: an approval with named approvers ignores them.
    instance = run.rsplit("/", 1)[1]
    raw = post(
        f"{api.rsplit('/api', 1)[0]}/runtime/webhooks/durabletask/instances/{instance}/raiseEvent/"
        f"{pending['event_name']}",
        {"approved": True},
    )
    assert raw.status == 202
    assert get(run).body["pendingApprovals"][0]["request_id"] == pending["request_id"]
    # A link is issued only to one of the approvers, and names them in the decision.
    assert post(pending["links_uri"], {"for": "mallory"}).status == 400
    assert post(pending["links_uri"], {"for": None}).status == 400
    assert post(pending["links_uri"], {"for": "alice", "extra": 1}).status == 400
    link = link_for(pending, "alice")
    # Opened through the link, the view says its holder may answer this request.
    opened = get(f"{run}?token={link.split('token=')[1]}").body["pendingApprovals"][0]
    assert opened["can_answer"] is True
    assert get(f"{run}?token=garbage").body["pendingApprovals"][0]["can_answer"] is False
    reply = post(link, {"approved": False})
    assert reply.status == 202 and reply.body["decidedBy"] == "alice"
    view = wait_for(run, finished).body
    assert view["outputs"][0]["decided_by"] == "alice"
    assert view["closedApprovals"][0]["decided_by"] == "alice"


def test_a_link_for_no_one_in_particular_answers_an_open_approval(api: str) -> None:
    _, pending = pending_of(api, "t_approval", {"item": "e", "amount": 1})
    reply = post(link_for(pending, None), {"approved": True})
    assert reply.status == 202 and reply.body["decidedBy"] is None


def test_stale_answer_never_satisfies_a_later_approval(api: str, host) -> None:
    started = post(f"{api}/t_two_approvals", {"item": "f", "amount": 1}).body
    run = started["runUri"]
    first = wait_for(run, waiting).body["pendingApprovals"][0]
    assert post(first["respond_uri"], {"approved": True}).status == 202
    second = wait_for(run, lambda r: r.body["pendingApprovals"] and r.body["pendingApprovals"][0] != first)
    second_pending = second.body["pendingApprovals"][0]
    assert second_pending["event_name"] != first["event_name"]
    event_uri = started["sendEventPostUri"].replace("{eventName}", first["event_name"])
    assert post(event_uri, {"approved": False}).status == 202
    host.wait_until_idle(timeout=10)
    still = get(run).body
    assert still["runtimeStatus"] == "Running"
    assert still["pendingApprovals"][0]["request_id"] == second_pending["request_id"]


def test_start_response_hides_the_system_key(api: str) -> None:
    reply = post(f"{api}/t_chain", {"value": 1})
    assert all("code=" not in str(v) for v in reply.body.values())
    assert "://" not in reply.body["id"] and reply.body["statusQueryGetUri"].startswith("http://")


def test_large_payloads_work_and_oversized_bodies_are_413(api: str) -> None:
    view = wait_for(post(f"{api}/t_big", {"text": "x" * 50_000, "repeat": 4}).body["runUri"], finished).body
    assert view["outputs"] == [200_000]
    too_big = post(f"{api}/t_big", raw=json.dumps({"text": "y" * 1_100_000}).encode())
    assert too_big.status == 413 and "WORKFLOW_MAX_BODY_BYTES" in too_big.body["error"]


def principal(name: str, roles: tuple[str, ...] = ()) -> dict[str, str]:
    import base64

    claims = [{"typ": "name", "val": name}, *({"typ": "roles", "val": r} for r in roles)]
    data = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims}
    return {"x-ms-client-principal": base64.b64encode(json.dumps(data).encode()).decode()}


def test_a_forged_easy_auth_header_names_no_one_when_easy_auth_is_off(api: str) -> None:
    run, pending = pending_of(api, "t_restricted", {"item": "g", "amount": 1})
    forged = principal("ceo", ("finance",))
    viewed = get(run, headers=forged).body["pendingApprovals"][0]
    assert viewed["can_answer"] is False and "token=" not in viewed["respond_uri"]
    reply = post(pending["respond_uri"], {"approved": True}, headers=forged)
    assert reply.status == 401
    assert get(run).body["pendingApprovalsTotal"] == 1
    post(f"{run}/terminate")


def test_cross_site_posts_change_nothing(api: str) -> None:
    evil = {"Origin": "https://evil.example", "Content-Type": "text/plain"}
    started = post(f"{api}/t_chain", {"value": 1}, headers=evil)
    assert started.status == 403 and "cross-origin" in started.body["error"]
    run, pending = pending_of(api, "t_approval", {"item": "h", "amount": 1})
    assert post(pending["respond_uri"], {"approved": True}, headers=evil).status == 403
    assert post(f"{run}/terminate", headers=evil).status == 403
    assert get(run).body["pendingApprovalsTotal"] == 1
    same_site = {"Origin": api.split("/api")[0]}
    assert post(pending["respond_uri"], {"approved": True}, headers=same_site).status == 202
