"""Steps of the order-cancellation demo: a fake order store, refund and inventory steps, two agents.

The order store is deterministic and in-process, so the demo runs anywhere and every run of the same
input gives the same output. An order id ``ORD-SAAAAA`` encodes the order:

- ``S``, the status digit: 1 placed, 2 processing (being packed), 3 shipped, 4 delivered,
  5 already cancelled; any other digit is an order that does not exist (the lookup fails the run).
- ``AAAAA``, the order total in whole EUR (``ORD-100250`` is a placed order of 250 EUR).

Placed and processing orders can be cancelled; processing ones keep a restocking fee. Refunds above
``REFUND_APPROVAL_THRESHOLD`` need a manager's approval.
"""

from __future__ import annotations

import threading
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from engine import ApprovalDecision, ApprovalOutcome, NonRetryableError, StepContext, executor
from engine.agents import Agent
from executors.ledger import configured_ledger

REFUND_APPROVAL_THRESHOLD = 500.0
RESTOCKING_FEE_RATE = 0.05
ORDER_ID_PATTERN = r"^ORD-\d{6}$"

OrderStatus = Literal["placed", "processing", "shipped", "delivered", "cancelled"]
ApprovalPath = Literal["not_required", "manager_approval", "finance_approval"]

_STATUS_BY_DIGIT: dict[str, OrderStatus] = {
    "1": "placed",
    "2": "processing",
    "3": "shipped",
    "4": "delivered",
    "5": "cancelled",
}
_CANCELLABLE: frozenset[OrderStatus] = frozenset({"placed", "processing"})
_WHY_NOT: dict[OrderStatus, str] = {
    "shipped": "the order has already shipped; it can be returned once it arrives",
    "delivered": "the order has been delivered; it can be returned instead",
    "cancelled": "the order is already cancelled",
}
_CUSTOMERS = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Edsger Dijkstra")
_CATALOGUE = ("KB-101 keyboard", "MS-220 mouse", "HD-330 headset", "MN-440 monitor", "DK-550 dock")


class CancellationRequest(BaseModel):
    """What a customer (or an agent on their behalf) submits."""

    order_id: str = Field(pattern=ORDER_ID_PATTERN, examples=["ORD-100250", "ORD-101200", "ORD-300080"])
    reason: str = Field(
        min_length=3,
        max_length=500,
        examples=["Ordered the wrong size"],
        description="why the customer cancels",
    )


class LineItem(BaseModel):
    sku: str
    description: str
    quantity: int = Field(ge=1)


class Order(BaseModel):
    order_id: str
    customer: str
    status: OrderStatus
    total: float = Field(ge=0, description="EUR")
    items: list[LineItem]


class OrderCase(BaseModel):
    """An order looked up for a cancellation request, with the eligibility verdict."""

    request: CancellationRequest
    order: Order
    eligible: bool
    ineligible_reason: str = ""


class RefusalCase(BaseModel):
    """The facts of a refusal, kept by code beside the letter an agent drafts."""

    kind: Literal["refusal_case"] = "refusal_case"
    case: OrderCase


class RefusalLetter(BaseModel):
    """An agent's polite refusal."""

    kind: Literal["refusal_letter"] = "refusal_letter"
    subject: str = Field(min_length=1, max_length=150)
    body: str = Field(min_length=1, max_length=2000)


class RefundQuote(BaseModel):
    kind: Literal["refund"] = "refund"
    case: OrderCase
    refund: float = Field(ge=0)
    fee: float = Field(ge=0)


class InventoryRelease(BaseModel):
    kind: Literal["inventory"] = "inventory"
    order_id: str
    released: list[LineItem]


class CustomerMessage(BaseModel):
    """An agent's confirmation message to the customer."""

    kind: Literal["customer_message"] = "customer_message"
    subject: str = Field(min_length=1, max_length=150)
    body: str = Field(min_length=1, max_length=2000)


# The discriminator keeps each part its own type through the JSON a durable host stores between steps.
RefusalPart = Annotated[RefusalCase | RefusalLetter, Field(discriminator="kind")]
CancellationPart = Annotated[RefundQuote | InventoryRelease | CustomerMessage, Field(discriminator="kind")]


class CancellationSummary(BaseModel):
    """Everything decided about a cancellation: what an approver sees, and what gets executed."""

    order: Order
    reason: str
    refund: float
    fee: float
    released: list[LineItem]
    message: CustomerMessage
    approval: ApprovalPath = "not_required"


class CancellationReceipt(BaseModel):
    summary: CancellationSummary
    confirmation: str


class CancellationResult(BaseModel):
    """The run's output."""

    order_id: str
    status: Literal["cancelled", "refused", "rejected"]
    refund_amount: float
    currency: Literal["EUR"] = "EUR"
    message: str
    reason: str = ""
    confirmation: str | None = None
    approval: ApprovalPath = "not_required"


def find_order(order_id: str) -> Order | None:
    """The fake order store (see the module docstring for how an id encodes its order)."""
    digits = order_id.removeprefix("ORD-")
    status = _STATUS_BY_DIGIT.get(digits[0])
    if status is None:
        return None
    seed = sum(int(d) for d in digits)
    lines = seed % 3 + 1
    items = [
        LineItem(
            sku=f"SKU-{(seed + i) % len(_CATALOGUE) + 1:03d}",
            description=_CATALOGUE[(seed + i) % 5],
            quantity=i + 1,
        )
        for i in range(lines)
    ]
    return Order(
        order_id=order_id,
        customer=_CUSTOMERS[seed % len(_CUSTOMERS)],
        status=status,
        total=float(int(digits[1:])),
        items=items,
    )


@executor(id="lookup_order")
def lookup_order(request: CancellationRequest) -> OrderCase:
    """Fetch the order and decide whether it can still be cancelled."""
    order = find_order(request.order_id)
    if order is None:
        # Retrying cannot make an order appear.
        raise NonRetryableError(f"order {request.order_id} not found")
    eligible = order.status in _CANCELLABLE
    return OrderCase(
        request=request, order=order, eligible=eligible, ineligible_reason=_WHY_NOT.get(order.status, "")
    )


def is_ineligible(case: OrderCase) -> bool:
    return not case.eligible


@executor(id="prepare_refusal")
def prepare_refusal(case: OrderCase) -> RefusalCase:
    """Hands the case to the letter writer and keeps the facts for the final answer."""
    return RefusalCase(case=case)


draft_refusal = Agent(
    "draft_refusal",
    instructions=(
        "You write for an online shop's customer service. The customer asked to cancel an order that can "
        "no longer be cancelled; the reason is given in `case.ineligible_reason`. Write a short, polite "
        "refusal addressed to the customer by name: acknowledge their reason, explain why cancelling is not "
        "possible, and say what they can do instead (for a shipped or delivered order: return it). "
        "Do not promise refunds or make up order details."
    ),
    input_type=RefusalCase,
    output_type=RefusalLetter,
)


@executor(id="send_refusal")
def send_refusal(parts: list[RefusalPart]) -> CancellationResult:
    """Fan-in of the facts and the agent's letter, in source order."""
    case = next(p for p in parts if isinstance(p, RefusalCase)).case
    letter = next(p for p in parts if isinstance(p, RefusalLetter))
    return CancellationResult(
        order_id=case.order.order_id,
        status="refused",
        refund_amount=0.0,
        message=letter.body,
        reason=case.ineligible_reason,
    )


@executor(id="accept_cancellation")
def accept_cancellation(case: OrderCase) -> OrderCase:
    """The eligible branch's entry: it fans the case out to the refund, inventory and message steps."""
    return case


@executor(id="calculate_refund")
def calculate_refund(case: OrderCase) -> RefundQuote:
    """A placed order is refunded in full; a processing one keeps the restocking fee."""
    fee = round(case.order.total * RESTOCKING_FEE_RATE, 2) if case.order.status == "processing" else 0.0
    return RefundQuote(case=case, refund=round(case.order.total - fee, 2), fee=fee)


@executor(id="release_inventory")
def release_inventory(case: OrderCase) -> InventoryRelease:
    """Put the order's items back on sale (the fake store has nothing to update)."""
    return InventoryRelease(order_id=case.order.order_id, released=case.order.items)


draft_customer_message = Agent(
    "draft_customer_message",
    instructions=(
        "You write for an online shop's customer service. The customer's order is being cancelled at their "
        "request. Write a short, warm confirmation addressed to the customer by name that mentions the "
        "order id and their reason, and says the refund goes back to the original payment method. Do not "
        "state an amount: it is added separately."
    ),
    input_type=OrderCase,
    output_type=CustomerMessage,
)


@executor(id="summarize_cancellation")
def summarize_cancellation(parts: list[CancellationPart]) -> CancellationSummary:
    """Fan-in: the refund quote, the released stock and the message, in source order."""
    quote = next(p for p in parts if isinstance(p, RefundQuote))
    release = next(p for p in parts if isinstance(p, InventoryRelease))
    message = next(p for p in parts if isinstance(p, CustomerMessage))
    return CancellationSummary(
        order=quote.case.order,
        reason=quote.case.request.reason,
        refund=quote.refund,
        fee=quote.fee,
        released=release.released,
        message=message,
    )


def needs_approval(summary: CancellationSummary) -> bool:
    return summary.refund > REFUND_APPROVAL_THRESHOLD


Decision = ApprovalOutcome[CancellationSummary, ApprovalDecision]


@executor(id="approved_cancellation")
def approved_cancellation(outcome: Decision) -> CancellationSummary:
    """Records which approver let the refund through (the node id: stable, unlike a person's name)."""
    approval: ApprovalPath = (
        "finance_approval" if outcome.approval_id == "finance_approval" else "manager_approval"
    )
    return outcome.request.model_copy(update={"approval": approval})


@executor(id="reject_cancellation")
def reject_cancellation(outcome: Decision) -> CancellationResult:
    order_id = outcome.request.order.order_id
    comment = outcome.response.comment or "the refund was not approved"
    approval: ApprovalPath = (
        "finance_approval" if outcome.approval_id == "finance_approval" else "manager_approval"
    )
    return CancellationResult(
        order_id=order_id,
        status="rejected",
        refund_amount=0.0,
        message=(
            f"We are sorry: your request to cancel order {order_id} could not be approved ({comment}). "
            "The order stays active; our team will contact you."
        ),
        reason=comment,
        approval=approval,
    )


# The fake payment/order system's record of executed cancellations, keyed by the step's idempotency key:
# a retried or replayed step finds its earlier result instead of cancelling (and refunding) twice.
CANCELLATION_LEDGER: dict[str, CancellationReceipt] = {}
_LEDGER_LOCK = threading.Lock()


def _receipt(summary: CancellationSummary) -> CancellationReceipt:
    # Derived from the order, not the key, so the same order gives the same output in every runner.
    return CancellationReceipt(summary=summary, confirmation=f"CXL-{summary.order.order_id[4:]}")


def cancel_once(summary: CancellationSummary, idempotency_key: str) -> CancellationReceipt:
    """Cancel and refund at most once per key; a repeated call returns the recorded receipt."""
    with _LEDGER_LOCK:
        recorded = CANCELLATION_LEDGER.get(idempotency_key)
        if recorded is not None:
            return recorded
        receipt = _receipt(summary)
        CANCELLATION_LEDGER[idempotency_key] = receipt
        return receipt


@executor(id="execute_cancellation")
def execute_cancellation(summary: CancellationSummary, ctx: StepContext) -> CancellationReceipt:
    ledger = configured_ledger()  # the SIDE_EFFECT_LEDGER app setting: a ledger that survives kill -9
    if ledger is None:
        receipt = cancel_once(summary, ctx.idempotency_key)
    else:
        with ledger.execution(ctx):
            recorded = ledger.once(ctx, _receipt(summary).model_dump_json())
            receipt = CancellationReceipt.model_validate_json(recorded)
    ctx.logger.info("order %s cancelled, refund %.2f EUR", summary.order.order_id, summary.refund)
    return receipt


@executor(id="notify_customer")
def notify_customer(receipt: CancellationReceipt) -> CancellationResult:
    summary = receipt.summary
    return CancellationResult(
        order_id=summary.order.order_id,
        status="cancelled",
        refund_amount=summary.refund,
        message=f"{summary.message.body}\n\nRefund: {summary.refund:.2f} EUR.",
        reason=summary.reason,
        confirmation=receipt.confirmation,
        approval=summary.approval,
    )
