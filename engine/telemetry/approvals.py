"""Approvals as span events (opened; closed with how and by whom) and the pending-approvals gauge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opentelemetry.trace import Span

from engine.telemetry import names
from engine.telemetry.state import Telemetry


def approval_opened(
    telemetry: Telemetry,
    span: Span,
    *,
    workflow: str,
    approval_id: str,
    request_id: str,
    deadline: datetime | None,
) -> None:
    """An approval request opening: an event on ``span``, and one more pending approval."""
    attributes: dict[str, Any] = {names.APPROVAL_ID: approval_id, names.APPROVAL_REQUEST: request_id}
    if deadline is not None:
        attributes[names.APPROVAL_DEADLINE] = deadline.isoformat()
    span.add_event(names.APPROVAL_OPENED, attributes)
    telemetry.approvals_pending.add(1, {names.WORKFLOW: workflow, names.APPROVAL_ID: approval_id})


def approval_closed(
    telemetry: Telemetry,
    span: Span,
    *,
    workflow: str,
    approval_id: str,
    request_id: str,
    outcome: str,
    via: str,
    decided_by: str | None,
) -> None:
    """An approval request closing (how and by whom): an event on ``span``, and one less pending approval."""
    attributes: dict[str, Any] = {
        names.APPROVAL_ID: approval_id,
        names.APPROVAL_REQUEST: request_id,
        names.APPROVAL_OUTCOME: outcome,
        names.APPROVAL_VIA: via,
    }
    if decided_by is not None:
        attributes[names.APPROVAL_DECIDED_BY] = decided_by
    span.add_event(names.APPROVAL_CLOSED, attributes)
    telemetry.approvals_pending.add(-1, {names.WORKFLOW: workflow, names.APPROVAL_ID: approval_id})
