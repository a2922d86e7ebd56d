"""What the orchestrator sends the step activity, and what comes back: typed, JSON on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from engine.core.jsontext import after_mark
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
        """Whether ``other`` names the same step attempt (an ordinal missing on either side matches any)."""
        return self.is_step(other.executor, other.superstep, other.attempt, other.ordinal)

    def is_step(self, executor: str, superstep: int, attempt: int, ordinal: int | None) -> bool:
        """Whether this is the attempt ``attempt`` of ``executor`` in ``superstep`` with this ordinal (an
        ordinal missing on either side matches any)."""
        if self.executor != executor or self.superstep != superstep or self.attempt != attempt:
            return False
        return self.ordinal is None or ordinal is None or self.ordinal == ordinal


class StepRequest(BaseModel):
    """One attempt of one step, as the step activity receives it (and validates it, on arrival)."""

    workflow: str
    executor: str
    instance_id: str
    superstep: int
    ordinal: int = 0
    attempt: int = 1
    version: str | None = None  # the workflow version the run started on (None: runs from before)
    idempotency_key: str
    message: Any = None
    # W3C trace context of the run (its start's span): the attempt's span joins the run's trace through
    # it alone. Taken from the run's input, so every replay sends the same request.
    traceparent: str | None = None

    @staticmethod
    def wire(
        *,
        workflow: str,
        executor: str,
        instance_id: str,
        superstep: int,
        ordinal: int,
        attempt: int,
        version: str | None,
        idempotency_key: str,
        message: Any,
        traceparent: str | None = None,
    ) -> dict[str, Any]:
        """The JSON form of a request built from the engine's own values, as ``model_dump`` gives it.

        The orchestrator builds one per step on every replay of every superstep, where constructing and
        dumping a model cost several times the dict (``tests/durable/test_step_activity.py`` keeps the
        two identical).
        """
        return {
            "workflow": workflow,
            "executor": executor,
            "instance_id": instance_id,
            "superstep": superstep,
            "ordinal": ordinal,
            "attempt": attempt,
            "version": version,
            "idempotency_key": idempotency_key,
            "message": message,
            "traceparent": traceparent,
        }

    def identity(self) -> StepIdentity:
        """The identity the step's result carries back."""
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


# Marks the ``StepResult`` JSON inside the message of a step's final failure; a host wraps the message in
# its own text (devhost: the TaskFailed reason; Azure: reason and details), so it is found by the mark.
FINAL_FAILURE_MARK = "[workflow step failed for good] "


class StepFailedForGood(Exception):
    """Raised by the step activity when a step has failed for good (no attempt follows).

    The host then records the activity as failed (``TaskFailed``), which is what a Durable Functions
    rewind removes and runs again; a result returned as an ordinary value would be replayed unchanged.
    """

    def __init__(self, result: StepResult) -> None:
        self.result = result
        super().__init__(FINAL_FAILURE_MARK + result.model_dump_json())


def final_failure_in(*texts: Any) -> StepResult | None:
    """The ``StepResult`` a ``StepFailedForGood`` carried, found in a failure's text(s), or None."""
    for text in texts:
        value = after_mark(text, FINAL_FAILURE_MARK)
        if value is None:
            continue
        try:
            return StepResult.model_validate(value)
        except ValidationError:
            continue
    return None
