"""Maps on devhost give what the in-memory runner gives: empty, one item, 1,000 items, item failures
under both policies (one with max_parallel), items selected from the output, one approval per item."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine import InMemoryRunner
from tests.durable import maps
from tests.durable.hostings import HOSTINGS, hosted_api
from tests.durable.http import finished, get, post, wait_for

WORKFLOWS = {w.name: w for w in maps.ALL}


@pytest.fixture(scope="module", params=HOSTINGS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The workflow API on each hosting: devhost, and the Durable Task runner (``engine serve``)."""
    yield from hosted_api(request, tmp_path_factory, "tests.durable.maps")


async def in_memory(name: str, body: Any, answers: dict[str, bool]) -> tuple[str, Any]:
    workflow = WORKFLOWS[name]
    runner = InMemoryRunner([workflow])
    result = await runner.run(workflow, body)
    while result.status == "waiting_for_approval":
        replies = {p.request_id: {"approved": answers[p.request]} for p in result.pending_approvals}
        result = await runner.resume(result.state, replies)
    if result.status == "completed":
        return result.status, result.outputs_json()
    assert result.error is not None
    return result.status, result.error.model_dump()


def durable(api: str, name: str, body: Any, answers: dict[str, bool]) -> dict[str, Any]:
    run = post(f"{api}/{name}", body).body["runUri"]
    view = get(f"{run}?wait=60").body
    if view.get("pendingApprovals"):
        pending = view["pendingApprovals"]
        assert view["pendingApprovalsTotal"] == len(answers)
        for p in pending:
            reply = post(p["respond_uri"], {"approved": answers[p["request"]]})
            assert reply.status == 202, reply.body
    return wait_for(f"{run}?wait=30", finished, timeout=120).body


CASES = [
    ("t_map", {"name": "empty", "docs": []}, {}),
    ("t_map", {"name": "one", "docs": ["only-one"]}, {}),
    ("t_map", {"name": "many", "docs": [f"doc-{i}" for i in range(1000)]}, {}),
    ("t_map", {"name": "fails", "docs": ["a", "bad-b", "c"]}, {}),
    ("t_map_collect", {"name": "collects", "docs": ["a", "bad-b", "c", "d", "bad-e", "f", "g"]}, {}),
    ("t_map_items", {"name": "selected", "docs": ["x-y", "z"]}, {}),
    ("t_map_approvals", {"name": "asks", "docs": ["p", "q", "r"]}, {"p": True, "q": False, "r": True}),
    ("t_map_limited", {"name": "too-many", "docs": ["a", "b", "c", "d"]}, {}),
    ("t_fan_in_gap", {"name": "silent", "docs": []}, {}),
    ("t_fan_in_gap", {"name": "loud", "docs": []}, {}),
]


@pytest.mark.parametrize(("name", "body", "answers"), CASES, ids=[c[1]["name"] for c in CASES])
async def test_a_map_gives_the_same_on_devhost_as_in_memory(
    api: str, name: str, body: Any, answers: dict[str, bool]
) -> None:
    status, expected = await in_memory(name, body, answers)
    view = durable(api, name, body, answers)
    assert view["runtimeStatus"] == {"completed": "Completed", "failed": "Failed"}[status], view
    if status == "completed":
        assert view["outputs"] == expected
    else:
        # The same error, named the same way (a failed step's message, a map over its limit, a fan-in
        # that would drop what it got).
        assert view["error"]["executor_id"] == expected["executor_id"], view["error"]
        assert expected["message"] in view["error"]["message"], (view["error"], expected)


async def test_what_the_failures_say() -> None:
    _, limited = await in_memory("t_map_limited", {"name": "n", "docs": list("abcd")}, {})
    assert limited["type"] == "MapItemsRefused" and "4 items, over its limit of 3" in limited["message"]
    _, gap = await in_memory("t_fan_in_gap", {"name": "silent", "docs": []}, {})
    assert gap["type"] == "FanInIncomplete" and "never received a message from ['maybe']" in gap["message"]


async def test_a_step_timeout_races_a_durable_timer_and_the_retry_succeeds(
    api: str, request: pytest.FixtureRequest
) -> None:
    maps.LEDGER.clear()
    maps.FINISHED.clear()
    run = post(f"{api}/t_timeout", {"key": "slow", "seconds": [1.0, 0.0]}).body["runUri"]
    view = wait_for(f"{run}?wait=30", finished).body
    assert view["runtimeStatus"] == "Completed" and view["outputs"] == ["slow done on attempt 2"], view
    timeline = get(f"{run}?timeline=true").body["timeline"]["entries"]
    attempts = [(e["attempt"], e["ok"]) for e in timeline if e["kind"] == "step"]
    assert attempts[-1] == (2, True) and (1, False) in attempts
    failed = [str(e.get("error")) for e in timeline if e["kind"] == "step" and not e["ok"]]
    assert failed and all("timeout of 0.3 s" in error for error in failed), failed
    if request.node.callspec.params["api"] == "devhost":
        # devhost runs the steps in this process (engine serve's worker is a process of its own): the
        # ledger shows the abandoned attempt's side effect.
        wait_for(f"{run}", lambda _: sorted(maps.FINISHED) == [1, 2], timeout=10)
        (applied,) = maps.LEDGER.values()
        assert applied == [2], "the abandoned first attempt found its side effect applied under the same key"
