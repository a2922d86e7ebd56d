"""Sub-workflows for the in-memory tests and the durable parity tests (``WORKFLOW_MODULES``): a map inside
a sub-workflow, a sub-workflow inside a map, a failing child, and an approval inside a child."""

from __future__ import annotations

from pydantic import BaseModel

from engine import Approval, ApprovalDecision, ApprovalOutcome, WorkflowBuilder, executor
from tests.durable import maps


class Order(BaseModel):
    order_id: str
    lines: list[str]


@executor(id="to_batch")
def to_batch(order: Order) -> maps.Batch:
    return maps.Batch(name=order.order_id, docs=order.lines)


@executor(id="wrap_up")
def wrap_up(summary: str) -> str:
    return f"order done: {summary}"


# A map inside a sub-workflow: the parent hands a batch to t_map (split -> review each -> summarize).
map_inside = (
    WorkflowBuilder("t_sub_map_inside", start=to_batch)
    .add_edge(to_batch, maps.mapped)
    .add_edge(maps.mapped, wrap_up)
    .build()
)


@executor(id="orders_of")
def orders_of(orders: list[Order]) -> list[Order]:
    return orders


@executor(id="all_done")
def all_done(results: list[str]) -> str:
    return " | ".join(results)


# A sub-workflow inside a map: each order runs map_inside as its own child run.
inside_map = (
    WorkflowBuilder("t_sub_inside_map", start=orders_of)
    .add_map(orders_of, map_inside, collect=all_done)
    .build()
)


class Ask(BaseModel):
    what: str


child_approval = Approval("child_ok", request=Ask, response=ApprovalDecision)


@executor(id="ask_for")
def ask_for(what: str) -> Ask:
    return Ask(what=what)


@executor(id="decided")
def decided(outcome: ApprovalOutcome[Ask, ApprovalDecision]) -> str:
    return f"{outcome.request.what}: {'yes' if outcome.response.approved else 'no'}"


asking_child = (
    WorkflowBuilder("t_sub_asking_child", start=ask_for).add_chain([ask_for, child_approval, decided]).build()
)


@executor(id="begin")
def begin(what: str) -> str:
    return what


@executor(id="finish_up")
def finish_up(answer: str) -> str:
    return f"parent got {answer}"


approval_inside = (
    WorkflowBuilder("t_sub_approval_inside", start=begin).add_chain([begin, asking_child, finish_up]).build()
)


@executor(id="whats")
def whats(items: list[str]) -> list[str]:
    return items


@executor(id="all_decided")
def all_decided(answers: list[str]) -> str:
    return " | ".join(answers)


# A child run per item, each asking a person, in partitions of two: the children are still the run's.
asking_each = (
    WorkflowBuilder("t_sub_asking_each", start=whats)
    .add_map(whats, asking_child, collect=all_decided, partition_size=2)
    .build()
)

ALL = [map_inside, inside_map, approval_inside, asking_each]
