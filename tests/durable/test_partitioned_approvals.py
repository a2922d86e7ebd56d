"""A map's approvals per item, asked in partitions on devhost: every request stays listed in the run and
answerable through the run's own links, deadlines behave as without partitions, the outcome is the
in-memory runner's, and no history passes 3,000 events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devhost.testing import DevHostHandle
from engine import InMemoryRunner, Workflow
from tests.durable import maps
from tests.durable.conftest import WEBHOOK, host_with, instances
from tests.durable.http import finished, get, post, wait_for


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    yield from host_with(tmp_path_factory, "tests.durable.maps")


def in_memory(
    workflow: Workflow, body: Any, answers: dict[str, bool], instance_id: str
) -> tuple[Any, list[str]]:
    """The in-memory run's outputs for the same answers, and the request ids it asked."""

    async def go() -> tuple[Any, list[str]]:
        runner = InMemoryRunner([workflow])
        result = await runner.run(workflow, body, instance_id=instance_id)
        asked = sorted(p.request_id for p in result.pending_approvals)
        replies = {p.request_id: {"approved": answers[p.request]} for p in result.pending_approvals}
        result = await runner.resume(result.state, replies)
        assert result.status == "completed", result
        return result.outputs_json(), asked

    return asyncio.run(go())


def all_pending(run: str) -> list[dict[str, Any]]:
    view = get(f"{run}?approvals_top=1000").body
    assert len(view["pendingApprovals"]) == view["pendingApprovalsTotal"], view["pendingApprovalsTotal"]
    return view["pendingApprovals"]


def test_requests_asked_in_partitions_are_listed_paged_and_answered_through_the_run(
    host: DevHostHandle,
) -> None:
    api = f"{host.api_url}/workflows"
    docs = [f"d{i}" for i in range(10)]
    answers = {d: i % 3 != 0 for i, d in enumerate(docs)}
    run = post(f"{api}/t_map_approvals_parts?instanceId=asks-1", {"name": "a", "docs": docs}).body["runUri"]
    view = get(f"{run}?wait=30").body
    assert view["phase"] == "waiting_for_approval" and view["pendingApprovalsTotal"] == 10, view
    expected, asked = in_memory(maps.approvals_in_parts, {"name": "a", "docs": docs}, answers, "asks-1")
    listed = view["pendingApprovals"]
    # The same request ids as in memory (and as without partitions), each naming its partition.
    assert sorted(p["request_id"] for p in listed) == asked
    assert [p["request"] for p in listed] == docs
    assert {p["partition"] for p in listed} == {f"asks-1:ask_part:2:p{n}" for n in range(3)}
    assert all(p["respond_uri"] == f"{run}/approvals/{p['request_id']}" for p in listed)
    # Pages run across the partitions.
    page = get(f"{run}?approvals_skip=3&approvals_top=4").body
    assert [p["request_id"] for p in page["pendingApprovals"]] == [p["request_id"] for p in listed[3:7]]
    assert page["pendingApprovalsTotal"] == 10
    (progress,) = view["maps"]
    assert progress["approvals"] == 10, progress
    feed = get(f"{run}/events").body
    requested = [e for e in feed["events"] if e["kind"] == "approval_requested"]
    assert sorted(e["item"] for e in requested) == list(range(10))  # which item each request is for

    # A follower caught up now must get each request once: no request again when its partition reports.
    followed = get(f"{run}/events?latest=true").body["cursor"]
    first, second, *rest = listed
    assert get(first["respond_uri"]).body["partition"] == first["partition"]
    # A decision is validated strictly, as anywhere: "yes" is not an approval.
    refused = post(first["respond_uri"], {"approved": "yes"})
    assert refused.status == 400, refused.body
    reply = post(first["respond_uri"], {"approved": answers[first["request"]]})
    assert reply.status == 202 and reply.body["taken"] is True, reply.body
    again = post(first["respond_uri"], {"approved": True})
    assert again.status == 409, again.body
    # A respond link issued for a request in a partition answers it, once.
    link = post(f"{second['links_uri']}", {"for": "dana@example.com"}).body["respond_uri"]
    used = post(link, {"approved": answers[second["request"]]})
    assert used.status == 202 and used.body["taken"] is True, used.body
    assert post(link, {"approved": True}).status == 403
    view = get(f"{run}?wait=30&answered={second['request_id']}").body
    assert view["pendingApprovalsTotal"] == 8
    assert first["request_id"] not in {p["request_id"] for p in view["pendingApprovals"]}

    for entry in rest:
        # One after another: each answer learns promptly that it decided its request.
        reply = post(entry["respond_uri"], {"approved": answers[entry["request"]]})
        assert reply.status == 202 and reply.body["taken"] is True, reply.body
    view = wait_for(f"{run}?wait=30", finished, timeout=60).body
    assert view["runtimeStatus"] == "Completed" and view["outputs"] == expected, view
    closed = {c["request_id"]: c for c in view["closedApprovals"]}
    assert sorted(closed) == asked and closed[second["request_id"]]["decided_by"] == "dana@example.com"
    events = get(f"{run}/events").body["events"]
    assert sum(e["kind"] == "approval_answered" for e in events) == 10
    later = get(f"{run}/events?after={followed}").body["events"]
    assert not [e for e in later if e["kind"] == "approval_requested"], later
    assert sorted(e["item"] for e in later if e["kind"] == "approval_answered") == list(range(10))
    timeline = get(f"{run}?timeline=true").body["timeline"]
    decided = [e for e in timeline["entries"] if e["kind"] == "approval"]
    assert sorted(e["request_id"] for e in decided) == asked
    assert {e["outcome"] for e in decided} == {"answered"}
    sizes = {i: len(s["historyEvents"]) for i, s in instances(host, "asks-1").items()}
    assert len(sizes) == 4 and max(sizes.values()) <= 3000, sizes


def test_a_deadline_in_a_partition_answers_by_default(host: DevHostHandle) -> None:
    api = f"{host.api_url}/workflows"
    run = post(f"{api}/t_map_approvals_expiring", {"name": "e", "docs": ["a", "b", "c"]}).body["runUri"]
    assert get(f"{run}?wait=30").body["pendingApprovalsTotal"] == 3
    pending = all_pending(run)
    (a,) = [p for p in pending if p["request"] == "a"]
    assert a["deadline"] is not None
    assert post(a["respond_uri"], {"approved": True}).status == 202
    view = wait_for(f"{run}?wait=30", finished, timeout=60).body
    assert view["runtimeStatus"] == "Completed" and view["outputs"] == ["a=yes,b=no,c=no"], view
    outcomes = sorted(c["outcome"] for c in view["closedApprovals"])
    assert outcomes == ["answered", "timed_out", "timed_out"]


def test_a_deadline_that_fails_the_run_fails_it_from_a_partition(host: DevHostHandle) -> None:
    api = f"{host.api_url}/workflows"
    run = post(f"{api}/t_map_approvals_failing", {"name": "f", "docs": ["a", "b", "c"]}).body["runUri"]
    view = wait_for(f"{run}?wait=30&until=finished", finished, timeout=60).body
    assert view["runtimeStatus"] == "Failed", view
    assert view["error"]["type"] == "ApprovalTimedOut" and view["error"]["executor_id"] == "ask_or_fail"


def test_terminating_the_run_terminates_its_partitions(host: DevHostHandle) -> None:
    api = f"{host.api_url}/workflows"
    docs = [f"t{i}" for i in range(6)]
    run = post(f"{api}/t_map_approvals_parts?instanceId=asks-term", {"name": "t", "docs": docs}).body[
        "runUri"
    ]
    assert get(f"{run}?wait=30").body["pendingApprovalsTotal"] == 6
    assert post(f"{run}/terminate", {"reason": "not needed"}).status == 202
    wait_for(f"{run}?wait=30&until=finished", finished, timeout=60)
    statuses = {i: s["runtimeStatus"] for i, s in instances(host, "asks-term").items()}
    assert statuses == dict.fromkeys(
        ["asks-term", "asks-term:ask_part:2:p0", "asks-term:ask_part:2:p1"], "Terminated"
    )


def test_a_map_of_250_approvals_at_the_default_partition_size(host: DevHostHandle) -> None:
    """At the default size for approvals (100), every request answered, each partition's history stays
    within 3,000 events; the outcome is the in-memory runner's."""
    api = f"{host.api_url}/workflows"
    docs = [f"r{i}" for i in range(250)]
    answers = {d: i % 7 != 0 for i, d in enumerate(docs)}
    run = post(f"{api}/t_map_approvals_large?instanceId=asks-250", {"name": "l", "docs": docs}).body["runUri"]
    assert get(f"{run}?wait=30").body["pendingApprovalsTotal"] == 250
    pending = all_pending(run)
    expected, asked = in_memory(maps.approvals_large, {"name": "l", "docs": docs}, answers, "asks-250")
    assert sorted(p["request_id"] for p in pending) == asked

    def answer(entry: dict[str, Any]) -> int:
        return post(entry["respond_uri"], {"approved": answers[entry["request"]]}).status

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(answer, pending)) == {202}
    view = wait_for(f"{run}?wait=30", finished, timeout=120).body
    assert view["runtimeStatus"] == "Completed" and view["outputs"] == expected
    assert view["closedApprovalsTotal"] == 250
    sizes = {i: len(s["historyEvents"]) for i, s in instances(host, "asks-250").items()}
    assert sorted(sizes) == ["asks-250", *(f"asks-250:ask_many:2:p{n}" for n in range(3))], sizes
    assert max(sizes.values()) <= 3000, sizes


def test_a_run_failed_while_its_partitions_wait_leaves_them_to_the_management_api(
    host: DevHostHandle,
) -> None:
    """The limit the README states: a run that fails while partitions of approvals wait (here another
    request passed its deadline under fail_run) cannot end them (an orchestrator cannot end other
    instances); they stay listed in the task hub and the management API terminates them."""
    api = f"{host.api_url}/workflows"
    body = {"name": "leaky", "docs": ["a", "b", "c"]}
    run = post(f"{api}/t_map_approvals_and_failure?instanceId=asks-leak", body).body["runUri"]
    view = wait_for(f"{run}?wait=30&until=finished", finished, timeout=60).body
    assert view["runtimeStatus"] == "Failed" and view["error"]["type"] == "ApprovalTimedOut", view
    waiting = {i: s["runtimeStatus"] for i, s in instances(host, "asks-leak:").items()}
    assert waiting == dict.fromkeys(["asks-leak:ask_leaky:3:p0", "asks-leak:ask_leaky:3:p1"], "Running")
    for instance_id in waiting:
        assert post(f"{host.base_url}{WEBHOOK}/{instance_id}/terminate?reason=cleanup").status == 202
    for instance_id in waiting:
        wait_for(f"{host.base_url}{WEBHOOK}/{instance_id}", lambda r: r.body["runtimeStatus"] == "Terminated")
