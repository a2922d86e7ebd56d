"""Order refund: an agent with the orders service's MCP tools, a manager approving each refund call.

The agent looks the order up and refunds it through the orders MCP server (``examples/orders_mcp``,
over stdio); calling ``refund`` first waits for a manager (24 h, then finance for 48 h; silence refuses
and the agent is told so). Each model call and tool call is recorded on its own in the run's history,
so a crash after the refund never refunds again.
"""

from __future__ import annotations

from engine import WorkflowBuilder
from executors.refunds import close_refund, refund_agent

workflow = (
    WorkflowBuilder(
        "order_refund",
        start=refund_agent,
        description="Refund an order: an agent with the orders MCP tools; a manager approves the refund.",
    )
    .add_edge(refund_agent, close_refund)
    .build()
)
