"""An answer counts only for the run that asked: links and signed answers are bound to one run, not to an
instance id that a purge frees for the next run; a run started around the workflow API checks signatures
as any other; no envelope, however malformed, fails a run or a partition.

Each attack is the lifecycle one from outside testing: purge and reuse of an id, a start through the
Durable management API, envelopes with a known key id and text JSON allows but UTF-8 does not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from devhost.testing import DevHostHandle
from engine.durable.signing_keys import key_id
from tests.durable.conftest import SIGNING_KEY, WEBHOOK, host_with, token_for
from tests.durable.http import Reply, call, finished, get, post, wait_for, waiting

MANAGEMENT = "/runtime/webhooks/durabletask"
REQUEST = {"item": "laptop", "amount": 1200}
KNOWN_KID = key_id(SIGNING_KEY.encode())


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    yield from host_with(tmp_path_factory, "tests.durable.graphs,tests.durable.maps")


def api(host: DevHostHandle) -> str:
    return f"{host.api_url}/workflows"


def start(host: DevHostHandle, workflow: str, instance_id: str, body: Any = REQUEST) -> str:
    reply = post(f"{api(host)}/{workflow}?instanceId={instance_id}", body)
    assert reply.status == 202, reply.body
    return str(reply.body["runUri"])


def purge(host: DevHostHandle, instance_id: str) -> None:
    reply = call("DELETE", f"{host.base_url}{WEBHOOK}/{instance_id}")
    assert reply.status == 200, (reply.status, reply.body)


def raise_event(host: DevHostHandle, instance_id: str, event: str, body: Any) -> Reply:
    return post(f"{host.base_url}{WEBHOOK}/{instance_id}/raiseEvent/{event}", raw=_raw(body))


def _raw(body: Any) -> bytes:
    # json.dumps escapes lone surrogates ("\ud800"): valid JSON text that no UTF-8 encoder accepts.
    return json.dumps(body).encode()


def link_for(pending: dict[str, Any], person: str) -> str:
    reply = post(pending["links_uri"], {"for": person})
    assert reply.status == 201, reply.body
    return str(reply.body["respond_uri"])


def still_waiting(run: str, request_id: str) -> dict[str, Any]:
    """The run once the answers raised so far were taken in: it must still wait on ``request_id``."""
    view = get(f"{run}?wait=3&answered={request_id}").body
    assert view["runtimeStatus"] == "Running", view
    assert request_id in [p["request_id"] for p in view["pendingApprovals"]], view
    return view


def test_a_used_link_does_not_answer_a_new_run_under_a_purged_runs_id(host: DevHostHandle) -> None:
    run = start(host, "t_restricted", "bound-used")
    pending = wait_for(run, waiting).body["pendingApprovals"][0]
    link = link_for(pending, "alice")
    assert post(link, {"approved": True}).status == 202
    wait_for(run, finished)
    purge(host, "bound-used")
    again = start(host, "t_restricted", "bound-used", {"item": "a yacht", "amount": 999_999})
    fresh = wait_for(again, waiting).body["pendingApprovals"][0]
    assert fresh["request_id"] == pending["request_id"]  # request ids are deterministic: same id again
    replay = post(link, {"approved": True})
    assert replay.status == 403, replay.body
    assert "earlier run" in replay.body["error"]
    still_waiting(again, fresh["request_id"])
    # Opened through the old link, the new run's view does not let its holder answer either.
    assert get(f"{again}?token={link.split('token=')[1]}").body["pendingApprovals"][0]["can_answer"] is False


def test_an_unused_link_does_not_carry_over_to_a_new_run_under_the_id(host: DevHostHandle) -> None:
    run = start(host, "t_restricted", "bound-unused")
    pending = wait_for(run, waiting).body["pendingApprovals"][0]
    link = link_for(pending, "alice")
    assert post(f"{run}/terminate").status == 202
    wait_for(run, finished)
    purge(host, "bound-unused")
    again = start(host, "t_restricted", "bound-unused")
    fresh = wait_for(again, waiting).body["pendingApprovals"][0]
    reply = post(link, {"approved": True})
    assert reply.status == 403, reply.body
    still_waiting(again, fresh["request_id"])
    # A link issued for the new run answers it.
    assert post(link_for(fresh, "alice"), {"approved": True}).status == 202
    assert wait_for(again, finished).body["closedApprovals"][0]["decided_by"] == "alice"


def recorded_envelope(host: DevHostHandle, instance_id: str) -> dict[str, Any]:
    """The signed envelope the endpoint raised into a run, as anyone with the history can read it."""
    status = get(f"{host.base_url}{WEBHOOK}/{instance_id}?showHistory=true&showHistoryOutput=true").body
    raised = [e for e in status["historyEvents"] if e["EventType"] == "EventRaised"]
    body = raised[0]["Input"]
    return json.loads(body) if isinstance(body, str) else body


def test_a_captured_envelope_does_not_answer_a_new_run_under_the_id(host: DevHostHandle) -> None:
    run = start(host, "t_restricted", "bound-envelope")
    pending = wait_for(run, waiting).body["pendingApprovals"][0]
    assert post(link_for(pending, "alice"), {"approved": True}).status == 202
    wait_for(run, finished)
    captured = recorded_envelope(host, "bound-envelope")
    assert captured["$approval"]["decided_by"] == "alice" and captured["$approval"]["sig"]
    purge(host, "bound-envelope")
    again = start(host, "t_restricted", "bound-envelope")
    fresh = wait_for(again, waiting).body["pendingApprovals"][0]
    assert raise_event(host, "bound-envelope", fresh["event_name"], captured).status == 202
    view = still_waiting(again, fresh["request_id"])
    assert view["closedApprovals"] == []


def management_start(host: DevHostHandle, workflow: str, instance_id: str, body: Any) -> Reply:
    return post(f"{host.base_url}{MANAGEMENT}/orchestrators/{workflow}/{instance_id}", raw=_raw(body))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(REQUEST, id="bare message"),
        pytest.param({"input": REQUEST}, id="wrapped, no flags"),
        pytest.param({"input": REQUEST, "strict_answers": True, "signed_answers": False}, id="unsigned"),
    ],
)
def test_a_run_started_through_the_management_api_checks_signatures(host: DevHostHandle, body: Any) -> None:
    instance_id = f"bound-mgmt-{abs(hash(json.dumps(body))) % 10_000}"
    started = management_start(host, "t_restricted", instance_id, body)
    assert started.status == 202, started.body
    run = f"{api(host)}/t_restricted/runs/{instance_id}"
    pending = wait_for(run, waiting).body["pendingApprovals"][0]
    forged = {"$approval": {"response": {"approved": True}, "decided_by": "ceo", "via": "endpoint"}}
    assert raise_event(host, instance_id, pending["event_name"], forged).status == 202
    view = still_waiting(run, pending["request_id"])
    assert view["closedApprovals"] == [] and view["input"] == REQUEST
    # It is an ordinary run otherwise: answered through its link, with the approver's name.
    assert post(link_for(pending, "alice"), {"approved": True}).status == 202
    done = wait_for(run, finished).body
    assert done["runtimeStatus"] == "Completed" and done["closedApprovals"][0]["decided_by"] == "alice"


MALFORMED: list[Any] = [
    {"response": {"approved": True}, "decided_by": "ceo", "kid": KNOWN_KID, "sig": "é" * 64},
    {"response": {"approved": True, "comment": "\ud800"}, "kid": KNOWN_KID, "sig": "0" * 64},
    {"response": {"approved": True}, "decided_by": "\udfff", "kid": KNOWN_KID, "sig": "0" * 64},
    {"response": "\ud83d", "link": "\ud800", "at": "\udc00", "kid": KNOWN_KID, "sig": "\ud800"},
    {"response": {"approved": True}, "kid": KNOWN_KID, "sig": 12},
    {"response": {"approved": True}, "kid": ["x"], "sig": None},
    [1, 2, 3],
    None,
]


def test_malformed_envelopes_with_a_known_key_id_are_dropped_and_the_run_waits(host: DevHostHandle) -> None:
    run = start(host, "t_approval", "bound-malformed")
    pending = wait_for(run, waiting).body["pendingApprovals"][0]
    for envelope in MALFORMED:
        assert (
            raise_event(host, "bound-malformed", pending["event_name"], {"$approval": envelope}).status == 202
        )
    still_waiting(run, pending["request_id"])
    assert get(f"{run}/events").status == 200
    assert post(pending["respond_uri"], {"approved": True}).status == 202
    assert wait_for(run, finished).body["runtimeStatus"] == "Completed"


def test_malformed_envelopes_sent_to_a_partition_are_dropped_and_it_waits(host: DevHostHandle) -> None:
    docs = [f"d{i}" for i in range(6)]
    run = start(host, "t_map_approvals_parts", "bound-parts", {"name": "p", "docs": docs})
    view = get(f"{run}?wait=30&approvals_top=100").body
    assert view["pendingApprovalsTotal"] == 6, view
    first = view["pendingApprovals"][0]
    partition = first["partition"]
    for envelope in MALFORMED:
        answer = {"request_id": first["request_id"], "answer": {"$approval": envelope}}
        assert raise_event(host, partition, "approval-answers", answer).status == 202
    for junk in (None, "\ud800", {"request_id": ["x"]}, {"request_id": "\udfff", "answer": {}}):
        assert raise_event(host, partition, "approval-answers", junk).status == 202
    still_waiting(run, first["request_id"])
    partition_status = get(f"{host.base_url}{WEBHOOK}/{partition}").body
    assert partition_status["runtimeStatus"] == "Running", partition_status
    for pending in get(f"{run}?approvals_top=100").body["pendingApprovals"]:
        assert post(pending["respond_uri"], {"approved": True}).status == 202
    assert wait_for(run, finished).body["runtimeStatus"] == "Completed"


def test_request_ids_no_partition_can_hold_are_404_not_500(host: DevHostHandle) -> None:
    run = start(host, "t_map_approvals_parts", "bound-ids", {"name": "p", "docs": ["a", "b", "c", "d", "e"]})
    first = get(f"{run}?wait=30").body["pendingApprovals"][0]
    prefix = first["request_id"].rsplit("-", 1)[0]
    for tail in ("\u00b2", "\u0663", "9" * 5000, "-1", "0x1", " 1"):
        url = f"{run}/approvals/{quote(prefix)}-{quote(tail)}"
        assert get(url).status == 404, (tail[:10], get(url).body)
        assert post(url, {"approved": True}).status == 404
        assert get(f"{run}?wait=1&answered={quote(prefix)}-{quote(tail)}").status == 200
    assert post(f"{run}/terminate").status == 202


def test_tokens_that_are_not_ascii_or_not_tokens_are_403_not_500(host: DevHostHandle) -> None:
    run = start(host, "t_approval", "bound-tokens")
    pending = wait_for(run, waiting).body["pendingApprovals"][0]
    valid = token_for(run, pending["request_id"])
    payload = valid.split(".")[0]
    bare = f"{run}/approvals/{pending['request_id']}"
    for bad in (f"{payload}.%C3%A9", f"{payload}.%ED%A0%80", "%C3%A9.%C3%A9", f"{payload}." + "A" * 5000):
        assert get(f"{bare}?token={bad}").status == 200  # a view: the token only adds rights
        assert get(f"{run}?token={bad}").status == 200
        answered = post(f"{bare}?token={bad}", {"approved": True})
        assert answered.status == 403, (answered.status, answered.body)
    still_waiting(run, pending["request_id"])
    assert post(f"{run}/terminate").status == 202
