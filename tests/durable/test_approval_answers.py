"""Approval answers are signed by the endpoint and verified in the run's history: a raw event cannot
pose as the endpoint or as a person, a malformed envelope is dropped, concurrent answers learn which one
decided, and a rotated key changes no recorded verdict."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from engine.durable.answers import AnswerEnvelope, Binding, signed_envelope
from engine.durable.signing_keys import key_id
from tests.durable.conftest import SIGNING_KEY, keys_of, restart_with, run_nonce, signing_host
from tests.durable.http import finished, get, post, wait_for
from tests.durable.test_e2e import start

REQUEST = {"item": "laptop", "amount": 1200}
FORGED = {"$approval": {"response": {"approved": True}, "decided_by": "ceo", "via": "endpoint"}}


def event_uri(started: dict, event_name: str) -> str:
    return started["sendEventPostUri"].replace("{eventName}", event_name)


def test_a_raw_event_cannot_pose_as_the_endpoint_or_a_named_approver(api: str) -> None:
    started = post(f"{api}/t_restricted", REQUEST).body
    run = started["runUri"]
    view = get(f"{run}?wait=30").body
    pending = view["pendingApprovals"][0]
    for forged in (
        FORGED,
        {"$approval": {**FORGED["$approval"], "via": "timeout"}},
        {"$approval": {**FORGED["$approval"], "kid": key_id(b"guess"), "sig": "0" * 64}},
    ):
        assert post(event_uri(started, pending["event_name"]), forged).status == 202
    view = get(f"{run}?wait=3&answered={pending['request_id']}").body
    assert view["runtimeStatus"] == "Running" and view["pendingApprovalsTotal"] == 1
    assert view["closedApprovals"] == []
    post(f"{run}/terminate")


def test_an_unsigned_envelope_is_a_raw_event_and_is_dropped(api: str) -> None:
    started = post(f"{api}/t_approval", REQUEST).body
    run = started["runUri"]
    pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
    assert post(event_uri(started, pending["event_name"]), FORGED).status == 202
    view = get(f"{run}?wait=3&answered={pending['request_id']}").body
    assert view["pendingApprovalsTotal"] == 1 and view["closedApprovals"] == []
    # A plain raw answer still works for an approval without named approvers, and says what it is.
    assert post(event_uri(started, pending["event_name"]), {"approved": True}).status == 202
    done = wait_for(run, finished).body
    assert done["outputs"][0]["via"] == "event" and done["outputs"][0]["decided_by"] is None


def test_a_malformed_envelope_is_dropped_and_the_run_keeps_waiting(api: str) -> None:
    started = post(f"{api}/t_approval", REQUEST).body
    run = started["runUri"]
    pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
    bogus = {"$approval": {"response": {"approved": True}, "via": "bogus"}}
    assert post(event_uri(started, pending["event_name"]), bogus).status == 202
    assert post(event_uri(started, pending["event_name"]), {"$approval": "not an object"}).status == 202
    view = get(f"{run}?wait=3&answered={pending['request_id']}").body
    assert view["runtimeStatus"] == "Running" and view["pendingApprovalsTotal"] == 1
    assert post(pending["respond_uri"], {"approved": True}).status == 202
    assert wait_for(run, finished).body["runtimeStatus"] == "Completed"


def test_an_envelope_signed_with_the_apps_key_is_taken_with_its_identity(api: str) -> None:
    started = post(f"{api}/t_approval", REQUEST).body
    run = started["runUri"]
    pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
    keys = keys_of(SIGNING_KEY)
    answer = AnswerEnvelope(
        response={"approved": True, "comment": ""},
        decided_by="dana",
        via="endpoint",
        at=datetime.now(UTC).isoformat(),
        answer_id="a1",
    )
    instance = started["id"]
    binding = Binding(instance_id=instance, request_id=pending["request_id"], run_nonce=run_nonce(run))
    body = signed_envelope(keys, binding, answer)
    # The same envelope for another run or request is not valid there.
    other = post(f"{api}/t_approval", REQUEST).body
    other_pending = get(f"{other['runUri']}?wait=30").body["pendingApprovals"][0]
    assert post(event_uri(other, other_pending["event_name"]), body).status == 202
    assert get(f"{other['runUri']}?wait=3&answered=x").body["pendingApprovalsTotal"] == 1
    post(f"{other['runUri']}/terminate")
    assert post(event_uri(started, pending["event_name"]), body).status == 202
    done = wait_for(run, finished).body
    assert done["outputs"][0]["decided_by"] == "dana" and done["outputs"][0]["via"] == "endpoint"
    assert done["closedApprovals"][0]["answer_id"] == "a1"


def test_concurrent_answers_learn_which_one_decided(api: str) -> None:
    run = start(api, "t_approval", REQUEST)
    pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
    replies: list = []

    def answer(approved: bool) -> None:
        replies.append(post(pending["respond_uri"].split("?")[0], {"approved": approved}))

    threads = [threading.Thread(target=answer, args=(i % 2 == 0,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in replies if r.status == 202]
    assert len(winners) == 1, [(r.status, r.body) for r in replies]
    assert winners[0].body["taken"] is True
    # The others learn that they lost: another answer was taken (409), or the run it decided has
    # already finished (410).
    losers = [r for r in replies if r is not winners[0]]
    assert all(r.status in (409, 410) for r in losers), [(r.status, r.body) for r in replies]
    done = wait_for(run, finished).body
    assert done["closedApprovals"][0]["answer_id"] == winners[0].body["answerId"]


def test_a_rotated_key_changes_no_recorded_verdict_and_retired_keys_still_verify(tmp_path: Path) -> None:
    old, new = "the-old-signing-key", "the-new-signing-key"
    with signing_host(tmp_path / "state.sqlite", old) as process:
        api = f"{process.base_url}/api/workflows"
        first = post(f"{api}/t_two_approvals", REQUEST).body
        run = first["runUri"]
        ask = get(f"{run}?wait=30").body["pendingApprovals"][0]
        taken = post(f"{run}/approvals/{ask['request_id']}", {"approved": True})
        assert taken.status == 202 and taken.body["taken"] is True
        second = get(taken.body["waitUri"]).body["pendingApprovals"][0]
        # An answer signed with the old key, delivered after the rotation: the retired key verifies it.
        binding = Binding(instance_id=first["id"], request_id=second["request_id"], run_nonce=run_nonce(run))
        late = signed_envelope(
            keys_of(old),
            binding,
            AnswerEnvelope(response={"approved": True}, decided_by="erin", answer_id="late"),
        )
        restart_with(process, APPROVAL_SIGNING_KEY=new, APPROVAL_SIGNING_KEYS_RETIRED=old)
        assert post(event_uri(first, second["event_name"]), late).status == 202
        done = wait_for(run, finished).body
        assert [c["decided_by"] for c in done["closedApprovals"]] == [None, "erin"]
        # With the old key gone altogether, the recorded verdicts still read the same.
        restart_with(process, APPROVAL_SIGNING_KEYS_RETIRED="")
        again = get(run).body
        assert again["closedApprovals"] == done["closedApprovals"] and again["outputs"] == done["outputs"]


def _race(calls: list) -> list:
    """Each call in its own thread, all at once; their replies."""
    replies: list = []
    threads = [threading.Thread(target=lambda c=c: replies.append(c())) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def test_answers_racing_terminate_get_410_or_409_never_500(api: str) -> None:
    outcomes = set()
    for _ in range(8):
        run = start(api, "t_approval", REQUEST)
        respond = get(f"{run}?wait=30").body["pendingApprovals"][0]["respond_uri"]
        replies = _race([partial(post, f"{run}/terminate"), partial(post, respond, {"approved": True})])
        assert all(r.status in (202, 409, 410) for r in replies), [(r.status, r.body) for r in replies]
        outcomes |= {r.status for r in replies}
    assert 202 in outcomes


def test_a_used_link_stays_used_after_a_restart(tmp_path: Path) -> None:
    with signing_host(tmp_path / "state.sqlite", SIGNING_KEY) as process:
        api = f"{process.base_url}/api/workflows"
        run = start(api, "t_two_approvals", REQUEST)
        pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
        link = post(pending["links_uri"], {"for": "dana"}).body["respond_uri"]
        assert post(link, {"approved": True}).status == 202
        restart_with(process)
        replay = post(link, {"approved": True})
        assert replay.status == 403 and "already been used" in replay.body["error"]


def test_links_already_sent_survive_a_key_rotation_until_their_key_is_dropped(tmp_path: Path) -> None:
    old, new = "the-old-link-key", "the-new-link-key"
    with signing_host(tmp_path / "state.sqlite", old) as process:
        api = f"{process.base_url}/api/workflows"
        runs = [post(f"{api}/t_restricted", REQUEST).body["runUri"] for _ in range(2)]
        asked = [get(f"{run}?wait=30").body["pendingApprovals"][0] for run in runs]
        links = [post(a["links_uri"], {"for": "alice"}).body["respond_uri"] for a in asked]
        # Rotated: the new key signs, the old one only verifies. The links in people's inboxes still work.
        restart_with(process, APPROVAL_SIGNING_KEY=new, APPROVAL_SIGNING_KEYS_RETIRED=old)
        answered = post(links[0], {"approved": True})
        assert answered.status == 202 and answered.body["decidedBy"] == "alice", answered.body
        assert wait_for(runs[0], finished).body["closedApprovals"][0]["decided_by"] == "alice"
        # Opened through a link signed with the retired key, the view lets its holder answer.
        token = links[1].split("token=")[1]
        assert get(f"{runs[1]}?token={token}").body["pendingApprovals"][0]["can_answer"] is True
        # Once the old key is dropped from the retired list, what it signed is refused.
        restart_with(process, APPROVAL_SIGNING_KEYS_RETIRED="")
        refused = post(links[1], {"approved": True})
        assert refused.status == 403 and "signature" in refused.body["error"], refused.body
        # Links issued now are signed with the new key and work.
        fresh = post(asked[1]["links_uri"], {"for": "alice"}).body["respond_uri"]
        assert post(fresh, {"approved": True}).status == 202
        assert wait_for(runs[1], finished).body["runtimeStatus"] == "Completed"
