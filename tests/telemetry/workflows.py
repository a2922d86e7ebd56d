"""The workflow the telemetry tests trace: a fan-out with a step that fails once, a fan-in, a manager's
approval, an agent (the model service comes from the OPENAI_* settings) and a last step."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from engine import (
    Approval,
    ApprovalDecision,
    ApprovalOutcome,
    RetryPolicy,
    StepContext,
    TransientError,
    WorkflowBuilder,
    executor,
    was_approved,
)
from engine.agents import Agent


class Order(BaseModel):
    order_id: str
    amount: float


class Check(BaseModel):
    name: str
    ok: bool


class Note(BaseModel):
    text: str


@executor(id="receive")
def receive(order: Order) -> Order:
    return order


@executor(id="check_stock")
def check_stock(order: Order) -> Check:
    return Check(name="stock", ok=True)


@executor(id="check_fraud", retry=RetryPolicy(max_attempts=3, first_interval=timedelta(milliseconds=50)))
def check_fraud(order: Order, ctx: StepContext) -> Check:
    if ctx.attempt == 1:
        raise TransientError("the fraud service is busy")
    return Check(name="fraud", ok=True)


@executor(id="decide")
def decide(checks: list[Check]) -> Order:
    return Order(order_id="-".join(c.name for c in checks), amount=100.0)


manager = Approval("manager", request=Order, response=ApprovalDecision, timeout=timedelta(hours=1))


@executor(id="approved")
def approved(outcome: ApprovalOutcome[Order, ApprovalDecision]) -> Order:
    return outcome.request


draft_note = Agent(
    "draft_note", instructions="Write a one-line note about the order.", input_type=Order, output_type=Note
)


@executor(id="finish")
def finish(note: Note) -> str:
    return note.text


workflow = (
    WorkflowBuilder("tm_traced", start=receive)
    .add_fan_out(receive, [check_stock, check_fraud])
    .add_fan_in([check_stock, check_fraud], decide)
    .add_edge(decide, manager)
    .add_edge(manager, approved, when=was_approved)
    .add_chain([approved, draft_note, finish])
    .build()
)


class Count(BaseModel):
    left: int


@executor(id="tick")
def tick(count: Count) -> Count:
    return Count(left=count.left - 1)


def more(count: Count) -> bool:
    return count.left > 0


def finished(count: Count) -> bool:
    return count.left <= 0


@executor(id="done")
def done(count: Count) -> str:
    return "done"


# A loop of ``left`` supersteps: with a small ``continue_every`` the run continues as new on the way.
looping = (
    WorkflowBuilder("tm_loop", start=tick, max_supersteps=100)
    .add_edge(tick, tick, when=more)
    .add_edge(tick, done, when=finished)
    .build()
)
