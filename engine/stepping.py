"""Superstep semantics shared by both runners: planning a superstep, step keys, approvals' lifecycle.

The runners differ only in *how* they run a step (a coroutine or an activity) and wait (a pause or a
durable event); what a superstep contains, and what an answer or a timeout turns into, is decided here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.approval import Approval, ApprovalOutcome, event_name_for, request_id_for
from engine.graph import Workflow
from engine.routing import Delivery, Emission
from engine.run_state import PendingApproval, RunError


@dataclass(frozen=True, slots=True)
class Step:
    """One executor invocation of a superstep."""

    delivery: Delivery
    ordinal: int

    @property
    def executor_id(self) -> str:
        return self.delivery.target


@dataclass(frozen=True, slots=True)
class SuperstepPlan:
    steps: list[Step]
    approvals: list[tuple[Delivery, int]]


def plan_superstep(workflow: Workflow, deliveries: list[Delivery]) -> SuperstepPlan:
    """Split deliveries into executor steps and approval requests, numbering repeats of one node."""
    steps: list[Step] = []
    approvals: list[tuple[Delivery, int]] = []
    seen: dict[str, int] = {}
    for delivery in deliveries:
        ordinal = seen.get(delivery.target, 0)
        seen[delivery.target] = ordinal + 1
        if isinstance(workflow.nodes[delivery.target], Approval):
            approvals.append((delivery, ordinal))
        else:
            steps.append(Step(delivery, ordinal))
    return SuperstepPlan(steps, approvals)


def idempotency_key(workflow: str, instance_id: str, superstep: int, executor_id: str, ordinal: int) -> str:
    """Stable for one step of one run across retries and replays, distinct for every other step."""
    raw = f"{workflow}\x1f{instance_id}\x1f{superstep}\x1f{executor_id}\x1f{ordinal}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def superstep_limit_error(workflow: Workflow, pending: list[Delivery]) -> RunError:
    waiting = sorted({d.target for d in pending})
    return RunError(
        type="MaxSuperstepsExceeded",
        message=(
            f"workflow {workflow.name!r} exceeded max_supersteps={workflow.max_supersteps} "
            f"with messages still pending for {waiting}; a loop without a reachable exit? "
            "Raise max_supersteps in WorkflowBuilder if the loop is meant to run longer."
        ),
    )


def open_approval(
    workflow: Workflow,
    delivery: Delivery,
    *,
    superstep: int,
    ordinal: int,
    now: datetime,
) -> PendingApproval:
    approval = workflow.nodes[delivery.target]
    assert isinstance(approval, Approval)
    source = workflow.nodes.get(delivery.source)
    # An escalation carries the request on; an ordinary edge from an approval carries its outcome.
    escalated = (
        isinstance(source, Approval)
        and source.on_timeout.escalate_to == approval.id
        and not isinstance(delivery.message, ApprovalOutcome)
    )
    escalated_from = delivery.source if escalated else None
    request_id = request_id_for(approval.id, superstep, ordinal)
    return PendingApproval(
        request_id=request_id,
        approval_id=approval.id,
        event_name=event_name_for(request_id),
        request=approval.input_adapter.dump_python(delivery.message, mode="json"),
        response_schema=approval.response_schema(),
        requested_at=now,
        deadline=approval.deadline_after(now),
        approvers=approval.approvers,
        superstep=superstep,
        escalated_from=escalated_from,
    )


def validate_response(workflow: Workflow, pending: PendingApproval, response: Any) -> Any:
    """The response as the approval's response model; raises pydantic's ValidationError."""
    approval = workflow.nodes[pending.approval_id]
    assert isinstance(approval, Approval)
    return approval.response_adapter.validate_python(response)


def answer_approval(
    workflow: Workflow,
    pending: PendingApproval,
    response: Any,
    *,
    now: datetime,
    via: str,
    decided_by: str | None = None,
    timed_out: bool = False,
) -> Emission:
    """The emission an answered approval sends downstream."""
    approval = workflow.nodes[pending.approval_id]
    assert isinstance(approval, Approval)
    outcome_type = approval.output_type
    outcome: ApprovalOutcome[Any, Any] = outcome_type(
        approval_id=approval.id,
        request_id=pending.request_id,
        request=approval.input_adapter.validate_python(pending.request),
        response=validate_response(workflow, pending, response),
        decided_by=decided_by,
        decided_at=now,
        via=via,
        timed_out=timed_out,
    )
    return Emission(approval.id, outcome)


@dataclass(frozen=True, slots=True)
class Expiry:
    """What a deadline passing turns into: exactly one of the three fields is set."""

    emission: Emission | None = None
    escalation: Delivery | None = None
    error: RunError | None = None


def expire_approval(workflow: Workflow, pending: PendingApproval, *, now: datetime) -> Expiry:
    approval = workflow.nodes[pending.approval_id]
    assert isinstance(approval, Approval)
    policy = approval.on_timeout
    if policy.action == "default":
        return Expiry(
            emission=answer_approval(
                workflow, pending, approval.default_response, now=now, via="timeout", timed_out=True
            )
        )
    if policy.action == "escalate" and policy.escalate_to:
        request = approval.input_adapter.validate_python(pending.request)
        return Expiry(escalation=Delivery(policy.escalate_to, request, approval.id))
    return Expiry(
        error=RunError(
            executor_id=approval.id,
            type="ApprovalTimedOut",
            message=f"approval {approval.id!r} (request {pending.request_id}) was not answered by "
            f"its deadline {pending.deadline.isoformat() if pending.deadline else ''}",
        )
    )
