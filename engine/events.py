"""Run events: what happened in a run, in order, for streaming, logs and the run view."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

EventKind = Literal[
    "run_started",
    "run_resumed",
    "superstep_started",
    "superstep_completed",
    "executor_started",
    "executor_completed",
    "executor_failed",
    "executor_retrying",
    "approval_requested",
    "approval_answered",
    "approval_timed_out",
    "run_waiting",
    "run_completed",
    "run_failed",
]


class RunEvent(BaseModel):
    kind: EventKind
    at: datetime
    superstep: int | None = None
    executor_id: str | None = None
    attempt: int | None = None
    duration_ms: float | None = None
    request_id: str | None = None
    error: str | None = None
    data: dict[str, Any] | None = None

    def describe(self) -> str:
        parts = [self.kind]
        if self.superstep is not None:
            parts.append(f"superstep={self.superstep}")
        if self.executor_id:
            parts.append(f"executor={self.executor_id}")
        if self.attempt is not None and self.attempt > 1:
            parts.append(f"attempt={self.attempt}")
        if self.duration_ms is not None:
            parts.append(f"{self.duration_ms:.1f}ms")
        if self.request_id:
            parts.append(f"request={self.request_id}")
        if self.error:
            parts.append(f"error={self.error}")
        return " ".join(parts)
