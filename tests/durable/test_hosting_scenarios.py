"""Scenarios every durable hosting must run alike, on devhost and on the Durable Task runner: deadlines in
real seconds (a default answer, an escalation to a named approver answered through a respond link, a run
failed by its deadline), a map's approvals asked in partitions and answered through the run, the event
feed and the run view, and the outcome the in-memory runner gives for the same answers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from engine import InMemoryRunner
from tests.durable import maps
from tests.durable.hostings import HOSTINGS, hosted_api
from tests.durable.http import finished, get, post, wait_for

MODULES = "tests.durable.graphs,tests.durable.maps,tests.durable.timed"
REQUEST = {"item": "desk", "amount": 300}


@pytest.fixture(scope="module", params=HOSTINGS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from hosted_api(request, tmp_path_factory, MODULES)


def asking(run: str) -> dict[str, Any]:
    return wait_for(run, lambda r: bool(r.body.get("pendingApprovals")), timeout=60).body


def test_a_deadline_answers_by_default(api: str) -> None:
    run = post(f"{api}/t_defaulting", REQUEST).body["runUri"]
    assert asking(run)["pendingApprovals"][0]["deadline"] is not None
    done = wait_for(f"{run}?wait=30", finished, timeout=60).body
    assert done["runtimeStatus"] == "Completed", done
    output = done["outputs"][0]
    assert (output["approved"], output["timed_out"], output["comment"]) == (False, True, "no answer in time")
    assert done["closedApprovals"][0]["outcome"] == "timed_out"


def test_a_deadline_escalates_to_a_named_approver_who_answers_through_a_link(api: str) -> None:
    run = post(f"{api}/t_escalating", REQUEST).body["runUri"]
    assert asking(run)["pendingApprovals"][0]["approval_id"] == "review"
    escalated = wait_for(
        run, lambda r: [p["approval_id"] for p in r.body.get("pendingApprovals", [])] == ["boss"], timeout=60
    ).body
    pending = escalated["pendingApprovals"][0]
    assert pending["escalated_from"] == "review" and pending["approvers"] == ["boss"]
    assert post(pending["respond_uri"], {"approved": True}).status == 401  # named approvers need an identity
    link = post(pending["links_uri"], {"for": "boss"})
    assert link.status == 201, link.body
    answered = post(link.body["respond_uri"], {"approved": True, "comment": "fine"})
    assert answered.status == 202 and answered.body["decidedBy"] == "boss", answered.body
    done = wait_for(f"{run}?wait=30", finished, timeout=60).body
    assert done["outputs"][0]["decided_by"] == "boss" and done["outputs"][0]["approved"] is True
    assert [c["outcome"] for c in done["closedApprovals"]] == ["timed_out", "answered"]


def test_a_deadline_that_fails_the_run(api: str) -> None:
    run = post(f"{api}/t_deadline_fails", REQUEST).body["runUri"]
    done = wait_for(f"{run}?wait=30", finished, timeout=60).body
    assert done["runtimeStatus"] == "Failed", done
    assert "strict" in done["error"]["message"]


def test_approvals_asked_in_partitions_are_answered_through_the_run(api: str) -> None:
    docs = [f"d{i}" for i in range(9)]
    answers = {d: i % 2 == 0 for i, d in enumerate(docs)}
    body = {"name": "parts", "docs": docs}
    run = post(f"{api}/t_map_approvals_parts", body).body["runUri"]
    view = wait_for(
        f"{run}?approvals_top=100", lambda r: r.body.get("pendingApprovalsTotal") == len(docs), timeout=60
    ).body
    assert all(p.get("partition") for p in view["pendingApprovals"]), view["pendingApprovals"][0]
    for pending in view["pendingApprovals"]:
        reply = post(pending["respond_uri"], {"approved": answers[pending["request"]]})
        assert reply.status == 202, reply.body
    done = wait_for(f"{run}?wait=30", finished, timeout=120).body
    assert done["runtimeStatus"] == "Completed", done
    assert done["outputs"] == in_memory(maps.approvals_in_parts, body, answers)


def in_memory(workflow: Any, body: Any, answers: dict[str, bool]) -> Any:
    async def go() -> Any:
        runner = InMemoryRunner([workflow])
        result = await runner.run(workflow, body)
        replies = {p.request_id: {"approved": answers[p.request]} for p in result.pending_approvals}
        result = await runner.resume(result.state, replies)
        return result.outputs_json()

    return asyncio.run(go())


def test_the_event_feed_and_the_view_tell_a_map_run(api: str) -> None:
    run = post(f"{api}/t_map_collect", {"name": "f", "docs": ["a", "bad-b", "c"]}).body["runUri"]
    view = wait_for(f"{run}?wait=30", finished, timeout=60).body
    assert view["phase"] == "completed" and view["maps"][0]["done"] == 2, view["maps"]
    events = get(f"{run}/events").body
    kinds = [e["kind"] for e in events["events"]]
    assert kinds[0] == "run_started" and kinds[-1] == "run_completed" and events["finished"] is True
    assert sorted(e["item"] for e in events["events"] if e["kind"] == "map_item_done") == [0, 2]
    timeline = get(f"{run}?timeline=true").body["timeline"]
    assert timeline["totals"]["steps"] >= 4 and timeline["entries"][-1]["event"] == "completed"
    listed = get(f"{api}/t_map_collect/runs?status=completed").body["runs"]
    assert run.rsplit("/", 1)[1] in [r["instanceId"] for r in listed]
