"""Workflows whose approvals pass their deadlines in seconds of real time, for hostings without a test
clock (the Durable Task runner): a default answer, an escalation to a named approver, a failed run."""

from __future__ import annotations

from datetime import timedelta

from engine import Approval, ApprovalDecision, WorkflowBuilder
from engine.core.approval import escalate_to, fail_run, respond_with
from tests.durable.graphs import Request, prepare, record

boss = Approval(
    "boss", request=Request, response=ApprovalDecision, approvers=["boss"], timeout=timedelta(hours=1)
)
review = Approval(
    "review",
    request=Request,
    response=ApprovalDecision,
    timeout=timedelta(seconds=2),
    on_timeout=escalate_to(boss),
)
escalating = (
    WorkflowBuilder("t_escalating", start=prepare)
    .add_edge(prepare, review)
    .add_edge(review, record)
    .add_edge(boss, record)
    .build()
)
quick = Approval(
    "quick",
    request=Request,
    response=ApprovalDecision,
    timeout=timedelta(seconds=2),
    on_timeout=respond_with({"approved": False, "comment": "no answer in time"}),
)
defaulting = (
    WorkflowBuilder("t_defaulting", start=prepare).add_edge(prepare, quick).add_edge(quick, record).build()
)
strict = Approval(
    "strict", request=Request, response=ApprovalDecision, timeout=timedelta(seconds=2), on_timeout=fail_run()
)
failing_deadline = (
    WorkflowBuilder("t_deadline_fails", start=prepare)
    .add_edge(prepare, strict)
    .add_edge(strict, record)
    .build()
)

ALL = [escalating, defaulting, failing_deadline]
