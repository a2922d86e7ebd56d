"""Steps of the order-refund demo: an agent that refunds through the orders MCP server, and the close.

The agent takes its tools from ``examples/orders_mcp`` (an MCP server started over stdio for each call:
``lookup`` and ``refund``); a manager approves every refund call before it reaches the server (24 h, then
finance for 48 h; silence refuses, and the model is told so). The server's ledger file is the
``ORDERS_MCP_LEDGER`` app setting (a temporary file when unset).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from engine import RetryPolicy, executor
from engine.agents import Agent, ask_before, mcp_stdio

APP_ROOT = Path(__file__).resolve().parents[1]  # where ``python -m examples.orders_mcp`` imports from
ORDER_ID_PATTERN = r"^ORD-\d{6}$"


class RefundRequest(BaseModel):
    """A customer asks for their money back."""

    order_id: str = Field(pattern=ORDER_ID_PATTERN, examples=["ORD-101200", "ORD-100080", "ORD-300450"])
    reason: str = Field(min_length=3, max_length=500, examples=["Arrived broken"])


class RefundDecision(BaseModel):
    """What the agent did, and what it tells the customer."""

    order_id: str
    refunded: bool = Field(description="true only when the refund tool refunded the order")
    amount: float = Field(ge=0, description="EUR refunded (0 when nothing was)")
    refund_id: str | None = Field(default=None, description="the refund tool's id for the refund")
    message_to_customer: str = Field(max_length=1000, description="a short, polite message")


class RefundClosed(BaseModel):
    order_id: str
    status: Literal["refunded", "not_refunded"]
    refund_id: str | None
    message: str


orders_service = mcp_stdio(
    sys.executable,
    "-m",
    "examples.orders_mcp",
    cwd=APP_ROOT,
    pass_env=("ORDERS_MCP_LEDGER", "ORDERS_MCP_DELAY_MS"),
    name="orders",
)

refund_agent = Agent(
    "refund_agent",
    instructions=(
        "You handle refund requests. Look the order up first. Refund it with the refund tool only when it "
        "can be refunded, for its full amount, giving the customer's reason. Then answer: whether it was "
        "refunded, the amount and refund id the tool returned, and a short, polite message to the customer. "
        "If the refund was refused or is not possible, say so kindly and refund nothing."
    ),
    input_type=RefundRequest,
    output_type=RefundDecision,
    tools=[
        orders_service,
        ask_before(
            "refund",
            approver="manager",
            timeout=timedelta(hours=24),
            escalate_to="finance",
            escalation_timeout=timedelta(hours=48),
            description="A manager approves every refund before the orders service makes it.",
        ),
    ],
    retry=RetryPolicy(max_attempts=3, first_interval=timedelta(seconds=1)),
)


@executor
def close_refund(decision: RefundDecision) -> RefundClosed:
    """Close the request with what the agent did."""
    done = decision.refunded and decision.refund_id is not None
    return RefundClosed(
        order_id=decision.order_id,
        status="refunded" if done else "not_refunded",
        refund_id=decision.refund_id if done else None,
        message=decision.message_to_customer,
    )
