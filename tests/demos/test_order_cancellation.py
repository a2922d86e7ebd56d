"""The order-cancellation demo end to end on the in-memory runner, with the offline model."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from engine import InMemoryRunner, ManualClock, RunResult, StepContext
from executors.orders import (
    CANCELLATION_LEDGER,
    CancellationSummary,
    CustomerMessage,
    execute_cancellation,
    find_order,
)
from tests.demos.conftest import T0
from workflows.order_cancellation import workflow

REASON = "Ordered the wrong size"


def request(order_id: str) -> dict[str, Any]:
    return {"order_id": order_id, "reason": REASON}


def only_output(result: RunResult) -> dict[str, Any]:
    assert result.status == "completed", result.error
    [output] = result.outputs_json()
    return output


async def test_small_refund_is_cancelled_without_approval(runner: InMemoryRunner) -> None:
    before = len(CANCELLATION_LEDGER)
    out = only_output(await runner.run(workflow, request("ORD-100250")))
    assert out["status"] == "cancelled"
    assert out["refund_amount"] == 250.0
    assert out["approval"] == "not_required"
    assert out["confirmation"] == "CXL-100250"
    assert out["message"].endswith("Refund: 250.00 EUR.")
    assert len(CANCELLATION_LEDGER) == before + 1


async def test_refund_at_the_threshold_needs_no_approval(runner: InMemoryRunner) -> None:
    out = only_output(await runner.run(workflow, request("ORD-100500")))
    assert (out["status"], out["refund_amount"]) == ("cancelled", 500.0)


@pytest.mark.parametrize(
    ("order_id", "why"),
    [("ORD-300080", "shipped"), ("ORD-400120", "delivered"), ("ORD-500999", "already cancelled")],
)
async def test_ineligible_order_is_refused_politely(runner: InMemoryRunner, order_id: str, why: str) -> None:
    before = len(CANCELLATION_LEDGER)
    result = await runner.run(workflow, request(order_id))
    out = only_output(result)
    assert out["status"] == "refused"
    assert out["refund_amount"] == 0.0
    assert why in out["reason"]
    assert out["message"]  # the agent's letter
    ran = {e.executor_id for e in result.events if e.kind == "executor_started"}
    assert "draft_refusal" in ran
    assert "execute_cancellation" not in ran
    assert len(CANCELLATION_LEDGER) == before


async def test_unknown_order_fails_the_run(runner: InMemoryRunner) -> None:
    result = await runner.run(workflow, request("ORD-900001"))
    assert result.status == "failed"
    assert result.error is not None
    assert "ORD-900001 not found" in result.error.message


async def test_large_refund_approved_by_the_manager(runner: InMemoryRunner) -> None:
    result = await runner.run(workflow, request("ORD-201200"))
    assert result.status == "waiting_for_approval"
    [pending] = result.pending_approvals
    assert pending.approval_id == "manager_approval"
    assert pending.request["refund"] == 1140.0  # processing: 5 % restocking fee
    assert pending.deadline == T0 + timedelta(hours=24)
    result = await runner.resume(result.state, {pending.request_id: {"approved": True}}, workflow=workflow)
    out = only_output(result)
    assert (out["status"], out["refund_amount"], out["approval"]) == ("cancelled", 1140.0, "manager_approval")


async def test_large_refund_rejected_by_the_manager(runner: InMemoryRunner) -> None:
    before = len(CANCELLATION_LEDGER)
    result = await runner.run(workflow, request("ORD-101200"))
    [pending] = result.pending_approvals
    answer = {"approved": False, "comment": "Suspected fraud"}
    out = only_output(await runner.resume(result.state, {pending.request_id: answer}, workflow=workflow))
    assert out["status"] == "rejected"
    assert out["refund_amount"] == 0.0
    assert out["reason"] == "Suspected fraud"
    assert len(CANCELLATION_LEDGER) == before


async def test_manager_deadline_escalates_to_finance_who_approves(
    runner: InMemoryRunner, clock: ManualClock
) -> None:
    result = await runner.run(workflow, request("ORD-101200"))
    clock.advance(timedelta(hours=25))
    result = await runner.resume(result.state, workflow=workflow)
    assert result.status == "waiting_for_approval"
    [pending] = result.pending_approvals
    assert pending.approval_id == "finance_approval"
    assert pending.escalated_from is not None
    result = await runner.resume(result.state, {pending.request_id: {"approved": True}}, workflow=workflow)
    out = only_output(result)
    assert (out["status"], out["refund_amount"], out["approval"]) == ("cancelled", 1200.0, "finance_approval")


async def test_both_deadlines_passed_rejects_by_default(runner: InMemoryRunner, clock: ManualClock) -> None:
    result = await runner.run(workflow, request("ORD-101200"))
    clock.advance(timedelta(hours=25))
    result = await runner.resume(result.state, workflow=workflow)
    assert result.pending_approvals[0].approval_id == "finance_approval"
    clock.advance(timedelta(hours=49))
    out = only_output(await runner.resume(result.state, workflow=workflow))
    assert out["status"] == "rejected"
    assert out["approval"] == "finance_approval"
    assert "no decision from finance" in out["reason"]


async def test_finance_still_has_time_before_its_own_deadline(
    runner: InMemoryRunner, clock: ManualClock
) -> None:
    result = await runner.run(workflow, request("ORD-101200"))
    clock.advance(timedelta(hours=25))
    result = await runner.resume(result.state, workflow=workflow)
    clock.advance(timedelta(hours=47))
    result = await runner.resume(result.state, workflow=workflow)
    assert result.status == "waiting_for_approval"
    assert result.pending_approvals[0].approval_id == "finance_approval"


def _summary() -> CancellationSummary:
    order = find_order("ORD-100250")
    assert order is not None
    return CancellationSummary(
        order=order,
        reason=REASON,
        refund=order.total,
        fee=0.0,
        released=order.items,
        message=CustomerMessage(subject="Cancelled", body="Your order is cancelled."),
    )


def _context(key: str) -> StepContext:
    return StepContext(
        workflow="order_cancellation",
        instance_id="test",
        executor_id="execute_cancellation",
        attempt=1,
        idempotency_key=key,
        logger=logging.getLogger("test"),
    )


def test_cancellation_is_recorded_once_per_idempotency_key() -> None:
    key = "idempotency-test-key"
    CANCELLATION_LEDGER.pop(key, None)
    before = len(CANCELLATION_LEDGER)
    first = execute_cancellation(_summary(), _context(key))
    # A retry or replay carries the same key but may carry different data: the first result stands.
    changed = _summary().model_copy(update={"refund": 1.0})
    second = execute_cancellation(changed, _context(key))
    assert second == first
    assert second.summary.refund == 250.0
    assert len(CANCELLATION_LEDGER) == before + 1
    execute_cancellation(_summary(), _context("another-key"))
    assert len(CANCELLATION_LEDGER) == before + 2


async def test_replaying_a_run_does_not_cancel_twice(runner: InMemoryRunner) -> None:
    # The same instance id gives the same step keys: a replayed run finds its earlier cancellation.
    before = len(CANCELLATION_LEDGER)
    first = await runner.run(workflow, request("ORD-100250"), instance_id="replayed-run")
    second = await runner.run(workflow, request("ORD-100250"), instance_id="replayed-run")
    assert first.outputs_json() == second.outputs_json()
    assert len(CANCELLATION_LEDGER) == before + 1


async def test_outputs_are_deterministic_across_runs(runner: InMemoryRunner) -> None:
    first = await runner.run(workflow, request("ORD-201200"))
    second = await runner.run(workflow, request("ORD-201200"))
    assert first.pending_approvals[0].request == second.pending_approvals[0].request


@pytest.mark.parametrize(
    "data",
    [
        {"order_id": "ORD-12345", "reason": REASON},
        {"order_id": "ord-123456", "reason": REASON},
        {"order_id": "ORD-1234567", "reason": REASON},
        {"order_id": "ORD-100250", "reason": ""},
        {"order_id": "ORD-100250", "reason": "x" * 501},
        {"order_id": "ORD-100250"},
    ],
)
async def test_invalid_input_is_refused(runner: InMemoryRunner, data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        await runner.run(workflow, data)


def test_input_schema_offers_examples() -> None:
    schema = workflow.input_schema()
    assert schema["properties"]["order_id"]["examples"][0] == "ORD-100250"
    assert workflow.description
