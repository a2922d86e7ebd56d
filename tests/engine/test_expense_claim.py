"""The example workflow end to end on the in-memory runner."""

from datetime import timedelta

import pytest

from engine import ApprovalResponseError, InMemoryRunner, ManualClock
from executors.expenses import Settlement
from tests.engine.helpers import T0, started, supersteps_of
from workflows import ALL
from workflows.expense_claim import workflow

HOUR = timedelta(hours=1)


@pytest.fixture
def runner(clock: ManualClock) -> InMemoryRunner:
    return InMemoryRunner(ALL, clock=clock)


def claim(amount: float, title: str = "Conference travel", has_receipts: bool = True) -> dict:
    return {"employee": "ada", "title": f"  {title} ", "amount": amount, "has_receipts": has_receipts}


def test_registered_and_valid() -> None:
    assert workflow in ALL
    assert workflow.name == "expense_claim"
    assert workflow.sinks() == frozenset({"reject_claim", "settle"})
    assert {a.id for a in workflow.approvals()} == {"manager_approval", "finance_director"}
    assert "amount" in workflow.input_schema()["properties"]


async def test_small_clean_claim_is_paid_automatically(runner: InMemoryRunner) -> None:
    result = await runner.run(workflow, claim(42.5), instance_id="c-1")

    assert result.status == "completed", result.error
    assert result.outputs == [Settlement(employee="ada", outcome="paid", amount=42.5, instalments=1)]
    assert result.pending_approvals == []
    assert started(result) == [
        "receive_claim",
        "check_policy",
        "check_budget",
        "check_receipts",
        "summarize",
        "auto_approve",
        "pay_instalment",
        "settle",
    ]
    assert {supersteps_of(result, c)[0] for c in ("check_policy", "check_budget", "check_receipts")} == {2}


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"title": "Casino night"}, "policy: forbidden category"),
        ({"has_receipts": False}, "receipts: missing receipts"),
        ({"amount": 20_000}, "budget: over the yearly budget"),
        (
            {"title": "alcohol", "has_receipts": False},
            "policy: forbidden category, receipts: missing receipts",
        ),
    ],
)
async def test_failed_check_rejects_the_claim(runner: InMemoryRunner, kwargs: dict, reason: str) -> None:
    data = claim(kwargs.pop("amount", 50), **kwargs)
    result = await runner.run(workflow, data)

    assert result.status == "completed", result.error
    assert result.outputs == [Settlement(employee="ada", outcome="rejected", amount=0, reason=reason)]
    assert "pay_instalment" not in started(result)
    assert result.pending_approvals == []


async def test_large_claim_approved_by_the_manager_is_paid_in_instalments(
    runner: InMemoryRunner, clock: ManualClock
) -> None:
    paused = await runner.run(workflow, claim(1200), instance_id="c-2")

    assert paused.status == "waiting_for_approval"
    (pending,) = paused.pending_approvals
    assert pending.approval_id == "manager_approval"
    assert pending.request_id == "manager_approval-s4-0"
    assert pending.request["claim"]["title"] == "Conference travel"  # normalised by receive_claim
    assert [c["name"] for c in pending.request["checks"]] == ["policy", "budget", "receipts"]
    assert pending.deadline == T0 + timedelta(hours=24)

    clock.advance(2 * HOUR)
    done = await runner.resume(
        paused.state.model_dump_json(), {pending.request_id: {"approved": True}}, decided_by="manager"
    )

    assert done.status == "completed", done.error
    assert done.outputs == [Settlement(employee="ada", outcome="paid", amount=1200, instalments=3)]
    assert supersteps_of(done, "pay_instalment") == [6, 7, 8]  # the loop: 500 + 500 + 200
    assert started(done) == ["approved_by_manager", *["pay_instalment"] * 3, "settle"]


async def test_manager_rejects(runner: InMemoryRunner) -> None:
    paused = await runner.run(workflow, claim(700))
    done = await runner.resume(
        paused.state, {"manager_approval-s4-0": {"approved": False, "comment": "not this quarter"}}
    )
    assert done.outputs == [
        Settlement(employee="ada", outcome="rejected", amount=0, reason="not this quarter")
    ]
    assert "pay_instalment" not in started(done)


async def test_manager_rejects_without_comment(runner: InMemoryRunner) -> None:
    paused = await runner.run(workflow, claim(700))
    done = await runner.resume(paused.state, {"manager_approval-s4-0": {"approved": False}})
    assert done.outputs[0].reason == "rejected by the manager"


async def test_manager_deadline_passes_and_the_finance_director_approves(
    runner: InMemoryRunner, clock: ManualClock
) -> None:
    paused = await runner.run(workflow, claim(900))
    clock.advance(25 * HOUR)

    escalated = await runner.resume(paused.state)
    assert escalated.status == "waiting_for_approval"
    (pending,) = escalated.pending_approvals
    assert pending.approval_id == "finance_director"
    assert pending.escalated_from == "manager_approval"
    assert pending.request_id == "finance_director-s5-0"
    assert pending.request == paused.pending_approvals[0].request
    assert pending.deadline == T0 + 25 * HOUR + timedelta(hours=48)

    with pytest.raises(ApprovalResponseError):
        await runner.resume(escalated.state, {"manager_approval-s4-0": {"approved": True}})

    clock.advance(HOUR)
    done = await runner.resume(escalated.state, {pending.request_id: {"approved": True}})
    assert done.status == "completed", done.error
    assert done.outputs == [Settlement(employee="ada", outcome="paid", amount=900, instalments=2)]


async def test_director_deadline_passes_too_and_the_run_fails(
    runner: InMemoryRunner, clock: ManualClock
) -> None:
    paused = await runner.run(workflow, claim(900))
    clock.advance(25 * HOUR)
    escalated = await runner.resume(paused.state)
    clock.advance(48 * HOUR)

    failed = await runner.resume(escalated.state)

    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.executor_id == "finance_director"
    assert failed.error.type == "ApprovalTimedOut"
    assert "finance_director-s5-0" in failed.error.message
    assert failed.outputs == []


def test_mermaid_of_the_example() -> None:
    text = workflow.to_mermaid()
    assert '    manager_approval{{"✋ manager_approval"}}' in text
    assert '    manager_approval -. "timeout: escalate" .-> finance_director' in text
    assert '    pay_instalment -. "still_owed" .-> pay_instalment' in text


@pytest.mark.parametrize(("amount", "needs_manager"), [(100, False), (100.01, True)])
async def test_auto_approval_limit(runner: InMemoryRunner, amount: float, needs_manager: bool) -> None:
    result = await runner.run(workflow, claim(amount))
    assert (result.status == "waiting_for_approval") is needs_manager


async def test_largest_claim_within_budget_fits_in_max_supersteps(runner: InMemoryRunner) -> None:
    paused = await runner.run(workflow, claim(10_000))
    done = await runner.resume(paused.state, {"manager_approval-s4-0": {"approved": True}})
    assert done.status == "completed", done.error
    assert done.outputs == [Settlement(employee="ada", outcome="paid", amount=10_000, instalments=20)]
    assert done.state.superstep <= workflow.max_supersteps
