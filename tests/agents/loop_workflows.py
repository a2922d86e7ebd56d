"""Workflows of the durable agent-loop tests, loaded into the project's app through WORKFLOW_MODULES.

``a_desk``: an agent that looks an order up and refunds it, a person approving before the refund (the
tools are plain functions; the offline model, or the fake OpenAI server when the host is pointed at it,
decides); ``a_named``: the same, the refund approved by the ``manager`` only; ``a_escalating``: the
manager has an hour, then finance two.

``a_map``: a map of ``a_desk``-like agents, one item a partition: each asks its person inside a map
partition.

``a_ledgered``: an agent whose one tool records every call it receives in the file the
``AGENT_TOOL_LEDGER`` setting names (one JSON line each: its idempotency key, its arguments), and waits
``AGENT_TOOL_SECONDS`` after recording, so a test can kill the host while a call runs or after it.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

from pydantic import BaseModel, Field

from engine import RetryPolicy, StepContext, WorkflowBuilder, executor
from engine.agents import Agent, ask_before


class RefundAsk(BaseModel):
    order_id: str
    reason: str


class RefundDone(BaseModel):
    order_id: str
    amount: float
    message: str = Field(description="what to tell the customer")


def lookup(order_id: str) -> dict[str, object]:
    """Look an order up: its customer, status and the amount a refund would return."""
    digits = "".join(ch for ch in order_id if ch.isdigit()) or "0"
    return {
        "order_id": order_id,
        "customer": "Ada Lovelace",
        "status": "placed",
        "amount": float(int(digits[-4:])),
    }


def refund(order_id: str, amount: float, reason: str, ctx: StepContext) -> dict[str, object]:
    """Refund an order (once per idempotency key)."""
    return {
        "order_id": order_id,
        "refunded": amount,
        "reason": reason,
        "refund_id": f"RF-{ctx.idempotency_key[:8]}",
    }


desk_agent = Agent(
    "a_desk_agent",
    instructions="Look the order up, refund it, and tell the customer.",
    input_type=RefundAsk,
    output_type=RefundDone,
    tools=[lookup, ask_before(refund, timeout=timedelta(hours=1))],
    retry=RetryPolicy(max_attempts=3, first_interval=timedelta(milliseconds=200)),
)
a_desk = WorkflowBuilder("a_desk", start=desk_agent, description="agent test: approval before a tool").build()

named_agent = Agent(
    "a_named_agent",
    instructions="Look the order up, refund it, and tell the customer.",
    input_type=RefundAsk,
    output_type=RefundDone,
    tools=[lookup, ask_before(refund, approver="manager", timeout=timedelta(hours=1))],
)
a_named = WorkflowBuilder("a_named", start=named_agent, description="agent test: a named approver").build()


def record(note: str, ctx: StepContext) -> str:
    """Record a note (every call is written to the ledger file)."""
    path = os.environ.get("AGENT_TOOL_LEDGER")
    if path:
        with open(path, "a", encoding="utf-8") as ledger:
            ledger.write(
                json.dumps({"key": ctx.idempotency_key, "note": note, "attempt": ctx.attempt}) + "\n"
            )
    time.sleep(float(os.environ.get("AGENT_TOOL_SECONDS", "0") or 0))
    return f"recorded {note}"


ledgered_agent = Agent(
    "a_ledgered_agent",
    instructions="Record a note, then answer.",
    input_type=RefundAsk,
    output_type=RefundDone,
    tools=[record],
    timeout=timedelta(seconds=120),
    retry=RetryPolicy(max_attempts=3, first_interval=timedelta(milliseconds=200)),
)
a_ledgered = WorkflowBuilder("a_ledgered", start=ledgered_agent, description="agent test: a ledger").build()

escalating_agent = Agent(
    "a_esc_agent",
    instructions="Look the order up, refund it, and tell the customer.",
    input_type=RefundAsk,
    output_type=RefundDone,
    tools=[
        lookup,
        ask_before(
            refund,
            approver="manager",
            timeout=timedelta(hours=1),
            escalate_to="finance",
            escalation_timeout=timedelta(hours=2),
        ),
    ],
)
a_escalating = WorkflowBuilder(
    "a_escalating", start=escalating_agent, description="agent test: escalation"
).build()


class RefundBatch(BaseModel):
    orders: list[str]
    reason: str


@executor(id="a_split")
def split_batch(batch: RefundBatch) -> list[RefundAsk]:
    """One refund question per order of the batch."""
    return [RefundAsk(order_id=order, reason=batch.reason) for order in batch.orders]


@executor(id="a_gather")
def gather(done: list[RefundDone]) -> list[str]:
    """The refunded orders, in the batch's order."""
    return [d.order_id for d in done]


map_agent = Agent(
    "a_map_agent",
    instructions="Look the order up, refund it, and tell the customer.",
    input_type=RefundAsk,
    output_type=RefundDone,
    tools=[lookup, ask_before(refund, timeout=timedelta(hours=1))],
)
# One item a partition: each agent step (and the question it asks) runs inside a map partition.
a_map = (
    WorkflowBuilder("a_map", start=split_batch, description="agent test: agents asking in map partitions")
    .add_map(split_batch, map_agent, collect=gather, partition_size=1)
    .build()
)

ALL = [a_desk, a_named, a_escalating, a_ledgered, a_map]
