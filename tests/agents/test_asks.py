"""Approval before a tool, in memory: asked with the tool's name and arguments, escalated at the deadline,
refused when nobody decides, told to the model either way; and the marks' own checks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import ApprovalResponseError, InMemoryRunner, ManualClock, WorkflowBuilder
from engine.agents import Agent, AgentConfigurationError, ask_before
from tests.agents.conftest import step_context
from tests.agents.loop_workflows import RefundAsk, RefundDone, lookup, refund

ASK = {"order_id": "ORD-101200", "reason": "Arrived broken"}


def desk(**ask: object) -> Agent:
    return Agent(
        "desk",
        instructions="Refund.",
        input_type=RefundAsk,
        output_type=RefundDone,
        tools=[lookup, ask_before(refund, **ask)],  # type: ignore[arg-type]
    )


async def test_the_deadline_escalates_and_the_escalation_decides() -> None:
    agent = desk(
        approver="manager",
        timeout=timedelta(hours=1),
        escalate_to="finance",
        escalation_timeout=timedelta(hours=2),
    )
    workflow = WorkflowBuilder("escalating", start=agent).build()
    clock = ManualClock()
    runner = InMemoryRunner(clock=clock)

    first = await runner.run(workflow, ASK)
    [manager] = first.pending_approvals
    assert (manager.approval_id, manager.approvers) == ("desk.refund", ["manager"])
    assert manager.request["arguments"] == {
        "order_id": "ORD-101200",
        "amount": 1200.0,
        "reason": "Arrived broken",
    }
    clock.advance(timedelta(minutes=61))
    second = await runner.resume(first.state, workflow=workflow)
    [finance] = second.pending_approvals
    assert (finance.approval_id, finance.approvers, finance.escalated_from) == (
        "desk.refund.escalated",
        ["finance"],
        "desk.refund",
    )
    assert finance.request == manager.request
    done = await runner.resume(
        second.state, {finance.request_id: {"approved": True}}, workflow=workflow, decided_by="finance"
    )

    assert done.status == "completed", done.error
    [out] = done.outputs
    assert "refund: order id ORD-101200, refunded 1200.0" in out.message


async def test_nobody_deciding_refuses_the_call_and_the_model_is_told() -> None:
    workflow = WorkflowBuilder("refused", start=desk(timeout=timedelta(hours=1))).build()
    clock = ManualClock()
    runner = InMemoryRunner(clock=clock)
    paused = await runner.run(workflow, ASK)
    clock.advance(timedelta(hours=2))

    done = await runner.resume(paused.state, workflow=workflow)

    assert done.status == "completed", done.error
    [out] = done.outputs
    assert (
        "refund: refused: nobody approved calling refund before the deadline; the tool was not called"
        in out.message
    )
    assert not [
        e for e in done.events if e.kind == "call_completed" and e.data and e.data["name"] == "refund"
    ]


async def test_an_answer_that_does_not_fit_is_refused_and_the_run_waits_on() -> None:
    workflow = WorkflowBuilder("strict", start=desk()).build()
    runner = InMemoryRunner(clock=ManualClock())
    paused = await runner.run(workflow, ASK)
    [asked] = paused.pending_approvals
    with pytest.raises(ApprovalResponseError, match="invalid response"):
        await runner.resume(paused.state, {asked.request_id: {"approved": "yes"}}, workflow=workflow)


def test_marks_are_checked_when_the_agent_is_defined() -> None:
    with pytest.raises(ValueError, match="ask_before names tool 'refund', which it does not offer"):
        Agent(
            "a",
            instructions="x",
            input_type=RefundAsk,
            output_type=RefundDone,
            tools=[lookup, ask_before("refund")],
        )
    with pytest.raises(ValueError, match="one ask_before per tool"):
        Agent(
            "a",
            instructions="x",
            input_type=RefundAsk,
            output_type=RefundDone,
            tools=[refund, ask_before("refund"), ask_before("refund")],
        )
    with pytest.raises(ValueError, match="escalate_to needs a timeout"):
        ask_before(refund, escalate_to="finance")


async def test_called_directly_an_agent_cannot_ask_a_person() -> None:
    agent = desk()
    with pytest.raises(AgentConfigurationError, match="needs a runner to ask a person"):
        await agent.handle(RefundAsk(**ASK), step_context(agent))
