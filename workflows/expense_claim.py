"""The example workflow: an expense claim checked in parallel, approved when large, paid in instalments.

It uses every edge kind: a chain, a fan-out and fan-in, a switch, conditional edges, a bounded loop,
and a human approval with a deadline that escalates to a second approver.
"""

from __future__ import annotations

from datetime import timedelta

from engine import (
    Approval,
    ApprovalDecision,
    Case,
    WorkflowBuilder,
    escalate_to,
    fail_run,
    was_approved,
    was_rejected,
)
from executors.expenses import (
    Review,
    approved_by_manager,
    auto_approve,
    check_budget,
    check_policy,
    check_receipts,
    failed_a_check,
    fully_paid,
    is_clean_and_small,
    pay_instalment,
    receive_claim,
    reject_claim,
    settle,
    still_owed,
)
from executors.expenses import summarize as summarize_checks

finance_director = Approval(
    "finance_director",
    request=Review,
    response=ApprovalDecision,
    timeout=timedelta(hours=48),
    on_timeout=fail_run(),
    description="Escalation: the finance director decides when the manager did not answer in time.",
)
manager_approval = Approval(
    "manager_approval",
    request=Review,
    response=ApprovalDecision,
    timeout=timedelta(hours=24),
    on_timeout=escalate_to(finance_director),
    description="The employee's manager approves claims above the automatic limit.",
)
checks = [check_policy, check_budget, check_receipts]

workflow = (
    WorkflowBuilder(
        "expense_claim",
        start=receive_claim,
        description="Check an expense claim in parallel, approve it (a person, above 100 EUR) and pay it.",
        max_supersteps=60,
    )
    .add_fan_out(receive_claim, checks)
    .add_fan_in(checks, summarize_checks)
    .add_switch(
        summarize_checks,
        [Case(failed_a_check, reject_claim), Case(is_clean_and_small, auto_approve)],
        default=manager_approval,
    )
    .add_edge(manager_approval, approved_by_manager, when=was_approved)
    .add_edge(manager_approval, reject_claim, when=was_rejected)
    .add_edge(finance_director, approved_by_manager, when=was_approved)
    .add_edge(finance_director, reject_claim, when=was_rejected)
    .add_edge(auto_approve, pay_instalment)
    .add_edge(approved_by_manager, pay_instalment)
    .add_edge(pay_instalment, pay_instalment, when=still_owed)
    .add_edge(pay_instalment, settle, when=fully_paid)
    .build()
)
