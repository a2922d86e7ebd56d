"""Sub-workflows on devhost: sub-orchestrations with deterministic child ids, the same outputs as in
memory, the parent's view listing its children, and an approval inside a child answered from the
parent's view through the child's own route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine import InMemoryRunner
from tests.durable import subs
from tests.durable.hostings import HOSTINGS, hosted_api
from tests.durable.http import finished, get, post, wait_for


@pytest.fixture(scope="module", params=HOSTINGS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The workflow API on each hosting: devhost, and the Durable Task runner (``engine serve``)."""
    yield from hosted_api(request, tmp_path_factory, "tests.durable.subs")


CASES = [
    (subs.map_inside, {"order_id": "o1", "lines": ["a-b", "c"]}),
    (subs.map_inside, {"order_id": "o2", "lines": ["bad-line"]}),
    (subs.inside_map, [{"order_id": f"o{i}", "lines": [f"l{i}", "x-y"]} for i in range(4)]),
    (subs.inside_map, []),
]


IDS = ["map-inside", "failing-child", "inside-map", "empty"]


@pytest.mark.parametrize(("workflow", "body"), CASES, ids=IDS)
async def test_the_same_outputs_on_devhost_as_in_memory(api: str, workflow: Any, body: Any) -> None:
    expected = await InMemoryRunner([workflow]).run(workflow, body)
    run = post(f"{api}/{workflow.name}", body).body["runUri"]
    view = wait_for(f"{run}?wait=30", finished, timeout=120).body
    if expected.status == "completed":
        assert view["runtimeStatus"] == "Completed" and view["outputs"] == expected.outputs_json(), view
    else:
        assert view["runtimeStatus"] == "Failed", view
        assert expected.error is not None and view["error"]["executor_id"] == expected.error.executor_id
        assert "bad-line" in view["error"]["message"]


def test_the_parent_lists_its_child_runs_and_answers_an_approval_inside_one(api: str) -> None:
    run = post(f"{api}/t_sub_approval_inside", "ship it?").body["runUri"]
    view = wait_for(f"{run}?wait=30", lambda r: bool(r.body.get("pendingApprovals")), timeout=60).body
    (child,) = view["children"]
    parent_id = view["instanceId"]
    assert child["workflow"] == "t_sub_asking_child" and child["instanceId"].startswith(f"{parent_id}:")
    assert child["runtimeStatus"] == "Running" and child["pendingApprovals"] == 1
    (pending,) = view["pendingApprovals"]
    assert pending["run"]["instanceId"] == child["instanceId"] and pending["approval_id"] == "child_ok"
    assert pending["respond_uri"].startswith(child["runUri"])
    # The child's own view lists it too.
    assert get(child["runUri"]).body["pendingApprovals"][0]["request_id"] == pending["request_id"]
    assert post(pending["respond_uri"], {"approved": True}).status == 202
    done = wait_for(f"{run}?wait=30", finished, timeout=60).body
    assert done["runtimeStatus"] == "Completed" and done["outputs"] == ["parent got ship it?: yes"], done
    assert get(child["runUri"]).body["runtimeStatus"] == "Completed"
    # The child run is pinned to its workflow's version like any run.
    assert get(child["runUri"]).body["version"] == subs.asking_child.version


def test_the_parent_s_feed_asks_for_the_child_s_approval_and_replay_check_knows_the_child(
    api: str, request: pytest.FixtureRequest
) -> None:
    from engine.durable.history_sources import from_management_api
    from engine.durable.replay_check import replay_check

    run = post(f"{api}/t_sub_approval_inside", "feed?").body["runUri"]
    view = wait_for(f"{run}?wait=30", lambda r: bool(r.body.get("pendingApprovals")), timeout=60).body
    events = get(f"{run}/events").body["events"]
    asked = [e for e in events if e["kind"] == "approval_requested"]
    assert asked and asked[-1]["detail"].startswith("in sub-workflow run ")
    if request.node.callspec.params["api"] == "devhost":
        # The child's run replays on the child's graph: served with its parent, not a drift. (replay-check
        # reads runs through the Durable Functions management API, which devhost serves.)
        base = api.split("/api/")[0]
        verdicts = replay_check(subs.ALL, from_management_api(base))
        assert verdicts and [v.describe() for v in verdicts if not v.ok] == []
    post(view["pendingApprovals"][0]["respond_uri"], {"approved": True})
    wait_for(f"{run}?wait=30", finished, timeout=60)


def test_terminating_a_parent_terminates_its_child_runs(api: str) -> None:
    run = post(f"{api}/t_sub_approval_inside", "stop?").body["runUri"]
    view = wait_for(f"{run}?wait=30", lambda r: bool(r.body.get("pendingApprovals")), timeout=60).body
    (child,) = view["children"]
    bad = post(f"{run}/terminate", {"reason": 5})
    assert bad.status == 400 and bad.body["errors"][0]["field"] == "reason", bad.body
    assert post(f"{run}/terminate", {"why": "x"}).status == 400
    assert post(f"{run}/terminate", {"reason": "not needed"}).status == 202
    assert wait_for(f"{run}?wait=30", finished).body["runtimeStatus"] == "Terminated"
    child_view = wait_for(f"{child['runUri']}?wait=30", finished).body
    assert child_view["runtimeStatus"] == "Terminated"
    assert "its parent run" in child_view["error"]["message"]


async def test_child_runs_of_a_partitioned_map_are_the_run_s_and_their_approvals_answered_from_it(
    api: str,
) -> None:
    whats = ["a", "b", "c", "d", "e"]
    answers = {w: w != "b" for w in whats}
    runner = InMemoryRunner([subs.asking_each])
    result = await runner.run(subs.asking_each, whats)
    while result.status == "waiting_for_approval":
        replies = {p.request_id: {"approved": answers[p.request["what"]]} for p in result.pending_approvals}
        result = await runner.resume(result.state, replies)
    run = post(f"{api}/t_sub_asking_each", whats).body["runUri"]
    view = wait_for(
        f"{run}?wait=30", lambda r: len(r.body.get("pendingApprovals") or []) == 5, timeout=60
    ).body
    parent_id = view["instanceId"]
    assert sorted(c["instanceId"] for c in view["children"]) == sorted(
        f"{parent_id}:t_sub_asking_child:2:{n}" for n in range(5)
    ), view["children"]
    for pending in view["pendingApprovals"]:
        answer = answers[pending["request"]["what"]]
        assert post(pending["respond_uri"], {"approved": answer}).status == 202
    done = wait_for(f"{run}?wait=30", finished, timeout=60).body
    assert done["runtimeStatus"] == "Completed" and done["outputs"] == result.outputs_json(), done
