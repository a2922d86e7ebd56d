"""The durable run's custom status: progress in a few kilobytes, whatever the size of the run.

The Durable Functions host fails an orchestration whose custom status exceeds 16 KB, so the status is
built to a budget: lists become counts, and large approval requests are left out (flagged) before the
budget is crossed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.graph import Workflow
from engine.run_state import RunState

STATUS_BUDGET_BYTES = 12_000
MAX_LISTED = 40
CLOSED_KEPT = 40


@dataclass(slots=True)
class Progress:
    """What the status reports beyond the checkpoint: executors that ran, approvals already closed."""

    executed: set[str] = field(default_factory=set)
    closed: list[dict[str, Any]] = field(default_factory=list)

    def close(self, decision: dict[str, Any]) -> None:
        """Record how an approval request closed: who decided, when, through which path."""
        self.closed = [*self.closed, decision][-CLOSED_KEPT:]


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


def _phase(state: RunState, running: list[str]) -> str:
    if state.status in ("completed", "failed") or running or not state.approvals:
        return state.status
    return "waiting_for_approval"


def build_status(
    workflow: Workflow, state: RunState, *, running: list[str], progress: Progress
) -> dict[str, Any]:
    executed = progress.executed
    approvals = [
        {
            "request_id": a.request_id,
            "approval_id": a.approval_id,
            "event_name": a.event_name,
            "requested_at": a.requested_at.isoformat(),
            "deadline": a.deadline.isoformat() if a.deadline else None,
            "approvers": a.approvers,
            "escalated_from": a.escalated_from,
            "request": a.request,
        }
        for a in state.approvals
    ]
    status: dict[str, Any] = {
        "workflow": workflow.name,
        "phase": _phase(state, running),
        "superstep": state.superstep,
        "running": running[:MAX_LISTED],
        "running_count": len(running),
        "executed": sorted(executed)[: MAX_LISTED * 4],
        "executed_count": len(executed),
        "approvals": approvals[:MAX_LISTED],
        "approvals_count": len(approvals),
        "closed_approvals": progress.closed,
        "error": state.error.model_dump() if state.error else None,
    }
    if _size(status) <= STATUS_BUDGET_BYTES:
        return status
    status["executed"] = []
    if _size(status) <= STATUS_BUDGET_BYTES:
        return status
    for entry in status["approvals"]:
        if _size(entry["request"]) > 1_000:
            entry["request"], entry["request_truncated"] = None, True
    if status["error"] and len(status["error"]["message"]) > 2_000:
        status["error"]["message"] = status["error"]["message"][:2_000] + "…"
    while _size(status) > STATUS_BUDGET_BYTES and (status["approvals"] or status["running"]):
        if len(status["running"]) > 1:
            status["running"] = status["running"][: len(status["running"]) // 2]
        elif status["approvals"]:
            status["approvals"] = status["approvals"][: len(status["approvals"]) // 2]
        else:
            status["running"] = []
    return status
