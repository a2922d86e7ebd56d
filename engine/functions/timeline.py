"""The timeline of a run, from its recorded history: steps, timers, events and run milestones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.core.jsontext import unwrapped
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.history import HistoryEvent

TOKEN_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens", "calls")
RUN_ENDS = {
    "ExecutionCompleted": None,
    "ExecutionTerminated": "terminated",
    "ContinueAsNew": "continued as new",
}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds() * 1000, 1) if start and end else None


def _started_entry(event: HistoryEvent) -> dict[str, Any]:
    """A run's start, or where an execution continued as new took over (earlier ones are not in it)."""
    try:
        started = OrchestratorInput.model_validate(unwrapped(event.input) or {})
    except ValueError:
        started = OrchestratorInput()
    if started.checkpoint is not None:
        after = started.checkpoint.superstep
        return {"kind": "run", "event": "continued", "at": _iso(event.timestamp), "after_superstep": after}
    return {"kind": "run", "event": "started", "at": _iso(event.timestamp)}


def _step_entry(event: HistoryEvent, started: datetime | None) -> dict[str, Any]:
    scheduled, at = event.scheduled_time, event.timestamp
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
    result = event.step_result() if event.type == "TaskCompleted" else event.final_failure()
    if event.type == "TaskFailed" and result is None:
        return entry | {"ok": False, "error": {"type": "StepActivityFailed", "message": event.reason}}
    if result is None:
        return entry | {"ok": False, "error": {"type": "StepFailed", "message": "not a step result"}}
    step = result.step
    entry |= {
        "executor": step.executor if step else (result.error.executor_id if result.error else None),
        "superstep": step.superstep if step else None,
        "attempt": step.attempt if step else None,
        "ok": result.ok,
        "duration_ms": result.duration_ms,
        "retryable": result.retryable,
        "error": result.error.model_dump() if result.error else None,
        "output": result.output,
    }
    agent = result.annotations.get("agent")
    if isinstance(agent, dict):
        entry["agent"] = agent
    return entry


def run_timeline(events: list[HistoryEvent], activity: str) -> dict[str, Any]:
    """Steps (executor, superstep, attempt, times, durations, errors, agent usage) and run events.

    ``events`` are the run's history with outputs. Returns ``{"entries": [...], "totals": {...}}``;
    entries are in history order.
    """
    entries: list[dict[str, Any]] = []
    totals: dict[str, Any] = {"steps": 0, "failed_attempts": 0, "retries": 0, "step_ms": 0.0}
    tokens = dict.fromkeys(TOKEN_KEYS, 0)
    started: datetime | None = None
    for event in events:
        at = event.timestamp
        if event.type == "ExecutionStarted":
            started = started or at
            entries.append(_started_entry(event))
        elif event.type in ("TaskCompleted", "TaskFailed") and event.function_name == activity:
            entry = _step_entry(event, started)
            totals["steps"] += 1
            totals["step_ms"] += entry.get("duration_ms") or 0.0
            if not entry["ok"]:
                totals["failed_attempts"] += 1
            if isinstance(entry["attempt"], int) and entry["attempt"] > 1:
                totals["retries"] += 1
            for key in TOKEN_KEYS:
                value = (entry.get("agent") or {}).get(key)
                tokens[key] += value if isinstance(value, int) else 0
            entries.append(entry)
        elif event.type == "EventRaised":
            entries.append(
                {"kind": "event", "name": event.name, "at": _iso(at), "data": unwrapped(event.input)}
            )
        elif event.type == "TimerFired":
            entries.append({"kind": "timer", "at": _iso(at), "fire_at": event.fire_at})
        elif event.type in RUN_ENDS:
            outcome = RUN_ENDS[event.type] or (event.orchestration_status or "Completed").lower()
            entries.append({"kind": "run", "event": outcome, "at": _iso(at), "elapsed_ms": _ms(started, at)})
    totals["step_ms"] = round(totals["step_ms"], 1)
    totals["tokens"] = tokens
    return {"entries": entries, "totals": totals}
