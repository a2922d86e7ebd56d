"""An approval request's lifecycle, shared by both runners: opened, answered (validated), or expired.

The runners differ only in how they wait (a pause or a durable event); what an answer or a deadline turns
into is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.core.approval import Approval, ApprovalOutcome, event_name_for, request_id_for, step_request_id
from engine.core.graph import Workflow
from engine.core.mapping import ItemTag, ItemTagJSON
from engine.core.routing import Delivery, Emission
from engine.core.run_state import PendingApproval, RunError


def open_approval(
    workflow: Workflow,
    delivery: Delivery,
    *,
    superstep: int,
    ordinal: int,
    now: datetime,
) -> PendingApproval:
    """A delivery to an approval opened as a pending request: its deterministic id, the request as JSON,
    its deadline, and whether it carries an escalation on."""
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
    return _pending(
        approval,
        request_id_for(approval.id, superstep, ordinal),
        approval.input_adapter.dump_python(delivery.message, mode="json"),
        superstep=superstep,
        now=now,
        escalated_from=escalated_from,
        item=ItemTagJSON(batch=delivery.item.batch, index=delivery.item.index) if delivery.item else None,
    )


def open_step_approval(
    workflow: Workflow,
    approval_id: str,
    request: Any,
    *,
    superstep: int,
    ordinal: int,
    call_key: str,
    now: datetime,
    item: ItemTagJSON | None = None,
    escalated_from: str | None = None,
) -> PendingApproval:
    """A request a looping step asks before one of its calls (``LoopAsk``): its request is validated by
    the approval's request type, so what people read is what the approval declared."""
    approval = workflow.approval(approval_id)
    checked = approval.input_adapter.validate_python(request)
    return _pending(
        approval,
        step_request_id(approval.id, superstep, ordinal, call_key),
        approval.input_adapter.dump_python(checked, mode="json"),
        superstep=superstep,
        now=now,
        escalated_from=escalated_from,
        item=item,
    )


def _pending(
    approval: Approval[Any, Any],
    request_id: str,
    request: Any,
    *,
    superstep: int,
    now: datetime,
    escalated_from: str | None,
    item: ItemTagJSON | None,
) -> PendingApproval:
    return PendingApproval(
        request_id=request_id,
        approval_id=approval.id,
        event_name=event_name_for(request_id),
        request=request,
        response_schema=approval.response_schema(),
        requested_at=now,
        deadline=approval.deadline_after(now),
        approvers=approval.approvers,
        superstep=superstep,
        escalated_from=escalated_from,
        item=item,
    )


def validate_response(workflow: Workflow, pending: PendingApproval, response: Any, *, strict: bool) -> Any:
    """The response as the approval's response model; raises pydantic's ValidationError.

    New answers are validated ``strict`` (``Approval.parse_answer``); answers a durable run recorded
    before strict validation existed replay through the lax path they were accepted by.
    """
    approval = workflow.approval(pending.approval_id)
    if strict:
        return approval.parse_answer(response)
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
    approval = workflow.approval(pending.approval_id)
    outcome_type = approval.output_type
    outcome: ApprovalOutcome[Any, Any] = outcome_type(
        approval_id=approval.id,
        request_id=pending.request_id,
        request=approval.input_adapter.validate_python(pending.request),
        response=approval.response_adapter.validate_python(response),
        decided_by=decided_by,
        decided_at=now,
        via=via,
        timed_out=timed_out,
    )
    item = ItemTag(pending.item.batch, pending.item.index) if pending.item is not None else None
    return Emission(approval.id, outcome, item)


@dataclass(frozen=True, slots=True)
class Expiry:
    """What a deadline passing turns into: exactly one of the three fields is set."""

    emission: Emission | None = None
    escalation: Delivery | None = None
    error: RunError | None = None


def expire_approval(workflow: Workflow, pending: PendingApproval, *, now: datetime) -> Expiry:
    """What a request whose deadline passed turns into, by the approval's ``on_timeout``: its default
    answer, the request escalated to the next approval, or the run's failure."""
    approval = workflow.approval(pending.approval_id)
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
