"""The demo workflows give the same outputs on the in-memory runner, on devhost and on the Durable Task
runner (``engine serve`` on durabletask's in-memory backend).

Every shipped demo workflow must have a parity scenario. A workflow you add to the app may have some
(add them to ``SCENARIOS``), but needs none: its own InMemoryRunner tests are enough for ``make test``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine import InMemoryRunner
from tests.demos.scenarios import SCENARIOS as DEMO_SCENARIOS
from tests.durable.hostings import HOSTINGS, hosted_api
from tests.durable.http import finished, post, wait_for
from workflows import ALL

Answer = dict[str, Any]
# The workflows shipped with the app: each must have parity scenarios.
SHIPPED = ["expense_claim", "order_cancellation", "content_review", "document_review"]
# workflow -> scenarios of (input, {approval id: response}); any workflow of ALL may have some.
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
CASES = [(wf.name, i) for wf in ALL for i in range(len(SCENARIOS.get(wf.name, [])))]


@pytest.fixture(scope="module", params=HOSTINGS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app's workflow API on each durable hosting."""
    yield from hosted_api(request, tmp_path_factory, "tests.durable.graphs")


def test_every_shipped_workflow_is_served_and_has_a_parity_scenario() -> None:
    served = {w.name for w in ALL}
    assert [name for name in SHIPPED if name not in served] == []
    assert [name for name in SHIPPED if not SCENARIOS.get(name)] == []


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
