"""The workflow view of a durable run: Durable Functions status + our custom status → what people read."""

from __future__ import annotations

from typing import Any

from engine.approval import Approval
from engine.graph import Workflow

FINISHED = {"Completed", "Failed", "Terminated"}


def runtime_status_name(status: Any) -> str | None:
    value = getattr(status, "runtime_status", None)
    return getattr(value, "value", value)


def executor_states(workflow: Workflow, custom: dict[str, Any], runtime: str | None) -> dict[str, str]:
    """Each node's state: pending (not reached), running, done, failed, or waiting (for a person)."""
    states = dict.fromkeys(workflow.nodes, "pending")
    for node_id in custom.get("executed") or []:
        if node_id in states:
            states[node_id] = "done"
    for approval_id in {c.rsplit("-", 2)[0] for c in custom.get("closed_approvals") or []}:
        if approval_id in states:
            states[approval_id] = "done"
    for node_id in custom.get("running") or []:
        if node_id in states:
            states[node_id] = "running"
    for approval in custom.get("approvals") or []:
        if approval.get("approval_id") in states:
            states[approval["approval_id"]] = "waiting"
    error = custom.get("error") or {}
    if runtime == "Failed" and error.get("executor_id") in states:
        states[error["executor_id"]] = "failed"
    return states


def pending_approvals(workflow: Workflow, custom: dict[str, Any], respond_base: str) -> list[dict[str, Any]]:
    out = []
    for entry in custom.get("approvals") or []:
        node = workflow.nodes.get(entry.get("approval_id", ""))
        if not isinstance(node, Approval):
            continue
        out.append(
            {
                **entry,
                "response_schema": node.response_schema(),
                "description": node.description,
                "respond_uri": f"{respond_base}/approvals/{entry['request_id']}",
            }
        )
    return out


def run_view(workflow: Workflow, status: Any, respond_base: str) -> dict[str, Any]:
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    runtime = runtime_status_name(status)
    error = custom.get("error")
    if runtime == "Failed" and not error:
        error = {"executor_id": None, "type": "OrchestrationFailed", "message": str(status.output)}
    if runtime == "Terminated":
        error = {"executor_id": None, "type": "Terminated", "message": str(status.output or "terminated")}
    return {
        "workflow": workflow.name,
        "instanceId": status.instance_id,
        "runtimeStatus": runtime,
        "phase": custom.get("phase", "pending" if runtime == "Pending" else "running"),
        "createdTime": status.created_time.isoformat() if status.created_time else None,
        "lastUpdatedTime": status.last_updated_time.isoformat() if status.last_updated_time else None,
        "superstep": custom.get("superstep", 0),
        "executors": executor_states(workflow, custom, runtime),
        "running": custom.get("running", []),
        "pendingApprovals": [] if runtime in FINISHED else pending_approvals(workflow, custom, respond_base),
        "closedApprovals": custom.get("closed_approvals", []),
        "outputs": status.output if runtime == "Completed" else None,
        "error": error if runtime in ("Failed", "Terminated") else None,
    }


def run_summary(status: Any) -> dict[str, Any]:
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    return {
        "instanceId": status.instance_id,
        "workflow": status.name,
        "runtimeStatus": runtime_status_name(status),
        "phase": custom.get("phase"),
        "superstep": custom.get("superstep", 0),
        "createdTime": status.created_time.isoformat() if status.created_time else None,
        "lastUpdatedTime": status.last_updated_time.isoformat() if status.last_updated_time else None,
    }
