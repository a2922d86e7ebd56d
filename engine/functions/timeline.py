"""The timeline of a run, from the Durable Functions history: steps, timers, events, with durations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.core.jsontext import decoded, iso_time


def history_events(status: Any) -> list[dict[str, Any]]:
    """The status's history events (the SDK keeps the host's ``historyEvents`` under that name)."""
    events = getattr(status, "historyEvents", None) or getattr(status, "history", None) or []
    return [e for e in events if isinstance(e, dict)]


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
        at = iso_time(event.get("Timestamp"))
        if kind == "ExecutionStarted":
            started = started or at
            entries.append(_started_entry(event, at))
        elif kind in ("TaskCompleted", "TaskFailed") and event.get("FunctionName") == activity:
            scheduled = iso_time(event.get("ScheduledTime"))
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
