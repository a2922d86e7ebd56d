"""A large order workflow for the dashboard's browser tests (``WORKFLOW_MODULES``): a graph taller than the
window, a timeline of some fifty rows, a map of order lines whose ``FLAKY`` lines fail their first attempt
(retried), a sub-workflow that packs the order, and a manager's approval before the last steps."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

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
    was_rejected,
)
from engine.core.executor import FunctionExecutor


class Line(BaseModel):
    sku: str = Field(min_length=1)
    qty: int = Field(ge=1)


class Order(BaseModel):
    customer: str
    lines: list[Line] = Field(min_length=1, max_length=200)


class Check(BaseModel):
    name: str
    ok: bool


class Priced(BaseModel):
    customer: str
    lines: int
    total: float


@executor(id="receive_order")
def receive_order(order: Order) -> Order:
    return order


def _check(name: str) -> FunctionExecutor:  # an executor per check
    def check(order: Order) -> Check:
        return Check(name=name, ok=bool(order.customer))

    return executor(check, id=f"check_{name}")


checks = [_check(name) for name in ("credit", "address", "fraud")]


@executor(id="checks_done")
def checks_done(results: list[Check]) -> bool:
    return all(r.ok for r in results)


@executor(id="lines_of")
def lines_of(order: Order) -> list[Line]:
    return order.lines


@executor(id="check_line", retry=RetryPolicy(max_attempts=3, first_interval=timedelta(milliseconds=10)))
def check_line(line: Line, ctx: StepContext) -> Line:
    if line.sku.startswith("FLAKY") and ctx.attempt == 1:
        raise TransientError(f"{line.sku}: the stock service is busy")
    return line


@executor(id="gather_lines")
def gather_lines(lines: list[Line]) -> list[Line]:
    return lines


# The sub-workflow: packs the checked lines (its own run, a child of the order's).
@executor(id="pick_items")
def pick_items(lines: list[Line]) -> int:
    return sum(line.qty for line in lines)


@executor(id="pack_box")
def pack_box(items: int) -> int:
    return items


pack_order = (
    WorkflowBuilder("pack_order", start=pick_items, description="Pick and pack an order's lines")
    .add_chain([pick_items, pack_box])
    .build()
)


@executor(id="price_order")
def price_order(parts: list[Order | int]) -> Priced:
    order, items = parts  # in source order: receive_order's order, pack_order's item count
    assert isinstance(order, Order) and isinstance(items, int)
    return Priced(customer=order.customer, lines=len(order.lines), total=9.5 * items)


@executor(id="add_tax")
def add_tax(priced: Priced) -> Priced:
    return priced.model_copy(update={"total": round(priced.total * 1.2, 2)})


manager_approval = Approval(
    "manager_approval",
    request=Priced,
    response=ApprovalDecision,
    timeout=timedelta(hours=24),
    description="A manager approves the order before it ships",
)


@executor(id="ship")
def ship(outcome: ApprovalOutcome[Priced, ApprovalDecision]) -> Priced:
    return outcome.request


@executor(id="hold")
def hold(outcome: ApprovalOutcome[Priced, ApprovalDecision]) -> str:
    return f"held: {outcome.request.customer}"


@executor(id="invoice")
def invoice(priced: Priced) -> Priced:
    return priced


@executor(id="notify_customer")
def notify_customer(priced: Priced) -> str:
    return f"shipped {priced.lines} lines to {priced.customer}: {priced.total:.2f}"


workflow = (
    WorkflowBuilder(
        "order_fulfilment", start=receive_order, description="Check, pack, price and ship an order"
    )
    .add_fan_out(receive_order, checks)
    .add_fan_in(checks, checks_done)
    .add_edge(receive_order, lines_of)
    .add_map(lines_of, check_line, collect=gather_lines)
    .add_edge(gather_lines, pack_order)
    .add_fan_in([receive_order, pack_order], price_order)
    .add_chain([price_order, add_tax, manager_approval])
    .add_edge(manager_approval, ship, when=was_approved)
    .add_edge(manager_approval, hold, when=was_rejected)
    .add_chain([ship, invoice, notify_customer])
    .build()
)

ALL = [workflow]
