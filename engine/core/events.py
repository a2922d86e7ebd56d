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
    "call_completed",
    "call_failed",
    "call_retrying",
    "approval_requested",
    "approval_answered",
    "approval_timed_out",
    "run_waiting",
    "run_completed",
    "run_failed",
]


class RunEvent(BaseModel):
    """One thing that happened in a run: its kind, when, and the step, item, attempt or request concerned."""

    kind: EventKind
    at: datetime
    superstep: int | None = None
    executor_id: str | None = None
    item: int | None = None  # a map item's index in its batch
    attempt: int | None = None
    # A failed attempt: whether another attempt follows, and how many the step's retry policy allows.
    will_retry: bool | None = None
    max_attempts: int | None = None
    duration_ms: float | None = None
    request_id: str | None = None
    error: str | None = None
    data: dict[str, Any] | None = None

    def describe(self) -> str:
        """The event as one log line: its kind, then the fields it has (``superstep=2 executor=review``)."""
        parts = [self.kind]
        if self.superstep is not None:
            parts.append(f"superstep={self.superstep}")
        if self.executor_id:
            parts.append(f"executor={self.executor_id}")
        if self.item is not None:
            parts.append(f"item={self.item}")
        if self.kind == "executor_failed" and self.will_retry is not None and self.attempt is not None:
            parts.append(failure_text(will_retry=self.will_retry, attempt=self.attempt, of=self.max_attempts))
        elif self.attempt is not None and self.attempt > 1:
            parts.append(f"attempt={self.attempt}")
        if self.duration_ms is not None:
            parts.append(f"{self.duration_ms:.1f}ms")
        if self.request_id:
            parts.append(f"request={self.request_id}")
        if self.kind.startswith("call_") and self.data:
            parts.append(f"call={self.data.get('kind')}:{self.data.get('name')}")
        if self.error:
            parts.append(f"error={self.error}")
        return " ".join(parts)


def failure_text(*, will_retry: bool, attempt: int, of: int | None) -> str:
    """A failed attempt in words, so a retried one never reads as the step's failure:
    ``failed, will retry (attempt 1 of 3)`` or ``failed for good (attempt 3 of 3)``."""
    counted = f"attempt {attempt} of {of}" if of else f"attempt {attempt}"
    return f"failed, will retry ({counted})" if will_retry else f"failed for good ({counted})"


_FIELDS = frozenset(RunEvent.model_fields)
_DEFAULTS: dict[str, Any] = {
    name: info.default for name, info in RunEvent.model_fields.items() if not info.is_required()
}
_new = object.__new__
_set = object.__setattr__


def make_event(kind: EventKind, at: datetime, fields: dict[str, Any]) -> RunEvent:
    """A ``RunEvent`` from values the engine itself produced, without running the validator.

    The runners emit several events per step, and validating each was a large share of the in-memory
    runner's overhead. The result equals ``RunEvent(kind=kind, at=at, **fields)``: same values in the
    same order, same ``model_fields_set``, ``data`` copied as validation copies it. Values of another
    type than declared (which validation would coerce or reject) take the validating path.
    """
    data = fields.get("data")
    duration = fields.get("duration_ms")
    if (
        type(at) is not datetime
        or at.tzinfo is None
        or (data is not None and type(data) is not dict)
        or (duration is not None and type(duration) is not float)
        or not _FIELDS.issuperset(fields)
    ):
        return RunEvent(kind=kind, at=at, **fields)
    values = {"kind": kind, "at": at, **_DEFAULTS}  # in field order, as validation builds it
    values.update(fields)
    if data is not None:
        values["data"] = dict(data)
    event = _new(RunEvent)
    _set(event, "__dict__", values)
    _set(event, "__pydantic_fields_set__", {"kind", "at", *fields})
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event
