"""Order cancellation, the classic of the Durable Task world, with agents drafting the customer letters.

Look the order up; refuse politely when it can no longer be cancelled; otherwise compute the refund,
release the stock and draft the customer's message in parallel, ask a manager when the refund is large
(24 h, then finance for 48 h; finance's silence rejects: the order stays active and nobody is refunded
without a decision), cancel once per idempotency key, and tell the customer.
"""

from __future__ import annotations

from datetime import timedelta

from engine import (
    Approval,
    ApprovalDecision,
    Case,
    WorkflowBuilder,
    escalate_to,
    respond_with,
    was_approved,
    was_rejected,
)
from executors.orders import (
    CancellationSummary,
    accept_cancellation,
    approved_cancellation,
    calculate_refund,
    draft_customer_message,
    draft_refusal,
    execute_cancellation,
    is_ineligible,
    lookup_order,
    needs_approval,
    notify_customer,
    prepare_refusal,
    reject_cancellation,
    release_inventory,
    send_refusal,
    summarize_cancellation,
)

finance_approval = Approval(
    "finance_approval",
    request=CancellationSummary,
    response=ApprovalDecision,
    timeout=timedelta(hours=48),
    on_timeout=respond_with({"approved": False, "comment": "no decision from finance within 48 hours"}),
    description="Escalation: finance decides a large refund the manager did not answer in time.",
)
manager_approval = Approval(
    "manager_approval",
    request=CancellationSummary,
    response=ApprovalDecision,
    timeout=timedelta(hours=24),
    on_timeout=escalate_to(finance_approval),
    description="A manager approves cancellations whose refund exceeds the automatic limit.",
)
parallel = [calculate_refund, release_inventory, draft_customer_message]

workflow = (
    WorkflowBuilder(
        "order_cancellation",
        start=lookup_order,
        description=(
            "Cancel an order: check eligibility, refund, release stock and write to the customer "
            "(agents draft the letters), with a manager's approval above 500 EUR."
        ),
        max_supersteps=30,
    )
    .add_switch(lookup_order, [Case(is_ineligible, prepare_refusal)], default=accept_cancellation)
    .add_edge(prepare_refusal, draft_refusal)
    .add_fan_in([prepare_refusal, draft_refusal], send_refusal)
    .add_fan_out(accept_cancellation, parallel)
    .add_fan_in(parallel, summarize_cancellation)
    .add_switch(
        summarize_cancellation, [Case(needs_approval, manager_approval)], default=execute_cancellation
    )
    .add_edge(manager_approval, approved_cancellation, when=was_approved)
    .add_edge(manager_approval, reject_cancellation, when=was_rejected)
    .add_edge(finance_approval, approved_cancellation, when=was_approved)
    .add_edge(finance_approval, reject_cancellation, when=was_rejected)
    .add_edge(approved_cancellation, execute_cancellation)
    .add_edge(execute_cancellation, notify_customer)
    .build()
)
