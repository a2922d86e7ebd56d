"""The parity scenarios complete in memory, without timeouts, with the same outputs every time."""

from __future__ import annotations

from typing import Any

import pytest

from engine import InMemoryRunner
from tests.demos.scenarios import SCENARIOS, run_in_memory
from workflows import ALL

WORKFLOWS = {w.name: w for w in ALL}
CASES = [
    pytest.param(name, data, responses, id=f"{name}-{i}")
    for name, scenarios in SCENARIOS.items()
    for i, (data, responses) in enumerate(scenarios)
]


def test_every_demo_has_scenarios() -> None:
    assert {"order_cancellation", "content_review"} <= SCENARIOS.keys()
    assert all(2 <= len(s) <= 3 for s in SCENARIOS.values())


@pytest.mark.parametrize(("name", "data", "responses"), CASES)
async def test_scenario_completes_deterministically(
    runner: InMemoryRunner, name: str, data: dict[str, Any], responses: dict[str, dict[str, Any]]
) -> None:
    workflow = WORKFLOWS[name]
    first = await run_in_memory(runner, workflow, data, responses)
    assert first.status == "completed", first.error
    assert not any(e.kind == "approval_timed_out" for e in first.events)
    assert len(first.outputs_json()) == 1
    second = await run_in_memory(InMemoryRunner(), workflow, data, responses)
    assert second.outputs_json() == first.outputs_json()
