"""The workflow view of a durable run: Durable Functions status + our custom status → what people read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from engine.approval import Approval
from engine.graph import Workflow
from engine.jsontext import decoded

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
    for closed in custom.get("closed_approvals") or []:
        if closed.get("approval_id") in states:
            states[closed["approval_id"]] = "done"
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


def pending_approvals(
    workflow: Workflow,
    custom: dict[str, Any],
    respond_base: str,
    sign: Callable[[dict[str, Any]], str] | None = None,
) -> list[dict[str, Any]]:
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
                "respond_uri": f"{respond_base}/approvals/{entry['request_id']}"
                + (f"?token={sign(entry)}" if sign is not None else ""),
            }
        )
    return out


def run_view(
    workflow: Workflow, status: Any, respond_base: str, sign: Callable[[dict[str, Any]], str] | None = None
) -> dict[str, Any]:
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
        "pendingApprovals": []
        if runtime in FINISHED
        else pending_approvals(workflow, custom, respond_base, sign),
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


# --- the timeline of a run, from the Durable Functions history ---------------------------------------


def history_events(status: Any) -> list[dict[str, Any]]:
    """The status's history events (the SDK keeps the host's ``historyEvents`` under that name)."""
    events = getattr(status, "historyEvents", None) or getattr(status, "history", None) or []
    return [e for e in events if isinstance(e, dict)]


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds() * 1000, 1) if start and end else None


TOKEN_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens", "calls")


def _started_entry(event: dict[str, Any], at: datetime | None) -> dict[str, Any]:
    """A run's start, or where an execution continued as new took over (earlier ones are not in it)."""
    started = decoded(event.get("Input"))
    checkpoint = started.get("checkpoint") if isinstance(started, dict) else None
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("superstep"), int):
        after = checkpoint["superstep"]
        return {"kind": "run", "event": "continued", "at": _iso(at), "after_superstep": after}
    return {"kind": "run", "event": "started", "at": _iso(at)}


def run_timeline(events: list[dict[str, Any]], activity: str) -> dict[str, Any]:
    """Steps (executor, superstep, attempt, times, durations, errors, agent usage) and run events.

    ``events`` are the status API's ``historyEvents`` with outputs. Returns ``{"entries": [...],
    "totals": {...}}``; entries are in history order.
    """
    entries: list[dict[str, Any]] = []
    totals: dict[str, Any] = {"steps": 0, "failed_attempts": 0, "retries": 0, "step_ms": 0.0}
    tokens = dict.fromkeys(TOKEN_KEYS, 0)
    started: datetime | None = None
    for event in events:
        kind = event.get("EventType")
        at = _time(event.get("Timestamp"))
        if kind == "ExecutionStarted":
            started = started or at
            entries.append(_started_entry(event, at))
        elif kind in ("TaskCompleted", "TaskFailed") and event.get("FunctionName") == activity:
            scheduled = _time(event.get("ScheduledTime"))
            entry: dict[str, Any] = {
                "kind": "step",
                "executor": None,
                "superstep": None,
                "attempt": None,
                "scheduled": _iso(scheduled),
                "completed": _iso(at),
                "elapsed_ms": _ms(scheduled, at),
                "offset_ms": _ms(started, scheduled),
            }
            if kind == "TaskFailed":
                entry |= {
                    "ok": False,
                    "error": {"type": "StepActivityFailed", "message": event.get("Reason")},
                }
            else:
                result = decoded(event.get("Result"))
                result = result if isinstance(result, dict) else {}
                step = result.get("step") if isinstance(result.get("step"), dict) else {}
                error = result.get("error") if isinstance(result.get("error"), dict) else None
                entry |= {
                    "executor": step.get("executor") or (error or {}).get("executor_id"),
                    "superstep": step.get("superstep"),
                    "attempt": step.get("attempt"),
                    "ok": bool(result.get("ok")),
                    "duration_ms": result.get("duration_ms"),
                    "retryable": bool(result.get("retryable")),
                    "error": error,
                    "output": result.get("output"),
                }
                agent = (result.get("annotations") or {}).get("agent")
                if isinstance(agent, dict):
                    entry["agent"] = agent
                    for key in TOKEN_KEYS:
                        value = agent.get(key)
                        tokens[key] += value if isinstance(value, int) else 0
                if isinstance(result.get("duration_ms"), int | float):
                    totals["step_ms"] += result["duration_ms"]
            totals["steps"] += 1
            if not entry["ok"]:
                totals["failed_attempts"] += 1
            if isinstance(entry["attempt"], int) and entry["attempt"] > 1:
                totals["retries"] += 1
            entries.append(entry)
        elif kind == "EventRaised":
            entries.append(
                {
                    "kind": "event",
                    "name": event.get("Name"),
                    "at": _iso(at),
                    "data": decoded(event.get("Input")),
                }
            )
        elif kind == "TimerFired":
            entries.append({"kind": "timer", "at": _iso(at), "fire_at": event.get("FireAt")})
        elif kind in ("ExecutionCompleted", "ExecutionTerminated", "ContinueAsNew"):
            outcome = {
                "ExecutionCompleted": str(event.get("OrchestrationStatus") or "Completed").lower(),
                "ExecutionTerminated": "terminated",
                "ContinueAsNew": "continued as new",
            }[kind]
            entries.append({"kind": "run", "event": outcome, "at": _iso(at), "elapsed_ms": _ms(started, at)})
    totals["step_ms"] = round(totals["step_ms"], 1)
    totals["tokens"] = tokens
    return {"entries": entries, "totals": totals}
