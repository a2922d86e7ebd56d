"""What the orchestrator sends the step activity, and what comes back: typed, JSON on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from engine.core.run_state import RunError


class StepIdentity(BaseModel):
    """Which step a result belongs to, carried back by the activity itself.

    The status API shows activity results but never their inputs, so the timeline and the history fold
    (``engine.durable.fold``) match results to steps by it. ``ordinal`` is ``None`` in results recorded
    before it was carried.
    """

    executor: str
    superstep: int
    attempt: int
    ordinal: int | None = None

    def matches(self, other: StepIdentity) -> bool:
        same = (self.executor, self.superstep, self.attempt) == (
            other.executor,
            other.superstep,
            other.attempt,
        )
        return same and (self.ordinal is None or other.ordinal is None or self.ordinal == other.ordinal)


class StepRequest(BaseModel):
    workflow: str
    executor: str
    instance_id: str
    superstep: int
    ordinal: int = 0
    attempt: int = 1
    idempotency_key: str
    message: Any = None

    def identity(self) -> StepIdentity:
        return StepIdentity(
            executor=self.executor, superstep=self.superstep, attempt=self.attempt, ordinal=self.ordinal
        )


class StepResult(BaseModel):
    """How one attempt ended. A failure says whether it is worth another attempt (``retryable``) and a
    server's Retry-After; whether there *is* another attempt is ``engine.core.retry.retry_delay``'s call."""

    ok: bool
    step: StepIdentity | None = None
    output: Any = None
    error: RunError | None = None
    retryable: bool = False
    retry_after_ms: float | None = None
    duration_ms: float = 0.0
    annotations: dict[str, Any] = Field(default_factory=dict)
