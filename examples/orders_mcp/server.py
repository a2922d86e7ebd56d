"""The orders MCP server's tools: ``lookup`` and ``refund`` (see the package's doc for the orders)."""

from __future__ import annotations

import hashlib
import os
import time
from typing import Annotated, Any

from mcp.server.fastmcp import Context, FastMCP
from pydantic import Field

from examples.orders_mcp.ledger import Ledger

STATUSES = {"1": "placed", "2": "processing", "3": "shipped", "4": "delivered", "5": "cancelled"}
REFUNDABLE = {"placed", "processing"}
CUSTOMERS = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Edsger Dijkstra")
DELAY_SETTING = "ORDERS_MCP_DELAY_MS"  # each call sleeps this long (a crash campaign lands kills in calls)

server = FastMCP("orders", instructions="An orders service: look orders up and refund them.")


def _order(order_id: str) -> dict[str, Any]:
    if len(order_id) != 10 or not order_id.startswith("ORD-") or not order_id[4:].isdigit():
        raise ValueError(f"{order_id!r} is not an order id (ORD- and six digits)")
    status = STATUSES.get(order_id[4])
    if status is None:
        raise ValueError(f"there is no order {order_id}")
    digest = int(hashlib.sha256(order_id.encode()).hexdigest()[:8], 16)
    return {
        "order_id": order_id,
        "customer": CUSTOMERS[digest % len(CUSTOMERS)],
        "status": status,
        "amount": float(int(order_id[5:])),
        "currency": "EUR",
        "refundable": status in REFUNDABLE,
        "refunded": False,
    }


def _key(ctx: Context[Any, Any, Any]) -> str | None:
    meta = ctx.request_context.meta
    key = (meta.model_extra or {}).get("idempotency_key") if meta is not None else None
    return str(key) if key else None


def _pause() -> None:
    delay = os.environ.get(DELAY_SETTING, "").strip()
    if delay:
        time.sleep(int(delay) / 1000)


@server.tool()
def lookup(
    order_id: Annotated[str, Field(description="the order id, ORD- and six digits")],
    ctx: Context[Any, Any, Any],
) -> dict[str, Any]:
    """Look an order up: customer, status, the amount a refund returns, whether it can be refunded."""
    Ledger().call("lookup", _key(ctx), {"order_id": order_id})
    _pause()
    return _order(order_id)


@server.tool()
def refund(
    order_id: Annotated[str, Field(description="the order id, ORD- and six digits")],
    amount: Annotated[float, Field(description="EUR to refund: at most the order's amount", gt=0)],
    reason: Annotated[str, Field(description="why the customer is refunded")],
    ctx: Context[Any, Any, Any],
) -> dict[str, Any]:
    """Refund an order, once: the same call delivered twice refunds once and answers the same."""
    key = _key(ctx) or f"order:{order_id}"
    ledger = Ledger()
    ledger.call("refund", key, {"order_id": order_id, "amount": amount, "reason": reason})
    _pause()
    order = _order(order_id)
    if not order["refundable"]:
        raise ValueError(f"order {order_id} is {order['status']}: it cannot be refunded")
    if amount > order["amount"]:
        raise ValueError(f"order {order_id} totals {order['amount']} EUR: {amount} EUR is more than that")
    refund_id, refunded = ledger.refund(
        key, order_id, amount, f"RF-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    )
    return {
        "order_id": order_id,
        "refunded": True,
        "amount": refunded,
        "refund_id": refund_id,
        "status": "refunded",
    }
