"""Every workflow of the app gives the same outputs on the in-memory runner and on devhost."""

from __future__ import annotations

from typing import Any

import pytest

from engine import InMemoryRunner
from tests.demos.scenarios import SCENARIOS as DEMO_SCENARIOS
from tests.durable.http import finished, post, wait_for
from workflows import ALL

Answer = dict[str, Any]
# workflow -> scenarios of (input, {approval id: response}); every workflow of ALL must have some.
SCENARIOS = {
    **DEMO_SCENARIOS,
    "expense_claim": [
        *DEMO_SCENARIOS["expense_claim"],
        (
            {"employee": "cy", "title": "Travel", "amount": 1250},
            {"manager_approval": {"approved": False, "comment": "no"}},
        ),
    ],
}
CASES = [(wf.name, i) for wf in ALL for i in range(len(SCENARIOS.get(wf.name, [None])))]


def test_every_workflow_has_a_parity_scenario() -> None:
    assert sorted(w.name for w in ALL if w.name not in SCENARIOS) == []


async def _in_memory(name: str, body: dict[str, Any], answers: dict[str, Answer]) -> list[Any]:
    workflow = next(w for w in ALL if w.name == name)
    runner = InMemoryRunner([workflow])
    result = await runner.run(workflow, body)
    while result.status == "waiting_for_approval":
        replies = {p.request_id: answers[p.approval_id] for p in result.pending_approvals}
        result = await runner.resume(result.state, replies)
    assert result.status == "completed", result.error
    return result.outputs_json()


def _on_devhost(api: str, name: str, body: dict[str, Any], answers: dict[str, Answer]) -> list[Any]:
    run = post(f"{api}/{name}", body).body["runUri"]
    answered: set[str] = set()

    def settled(reply: Any) -> bool:
        return finished(reply) or any(
            p["request_id"] not in answered for p in reply.body.get("pendingApprovals", [])
        )

    while True:
        view = wait_for(run, settled).body
        if view["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
            assert view["runtimeStatus"] == "Completed", view["error"]
            return view["outputs"]
        for pending in view["pendingApprovals"]:
            if pending["request_id"] not in answered:
                assert post(pending["respond_uri"], answers[pending["approval_id"]]).status == 202
                answered.add(pending["request_id"])


@pytest.mark.parametrize(("name", "index"), CASES)
async def test_same_outputs_in_memory_and_on_devhost(api: str, name: str, index: int) -> None:
    body, answers = SCENARIOS[name][index]
    assert await _in_memory(name, body, answers) == _on_devhost(api, name, body, answers)
