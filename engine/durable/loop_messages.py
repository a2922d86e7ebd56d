"""A looping step run durably, typed: the orchestration's input, the call activity's request, a call that
failed for good, and the step's orchestration's instance id.

A looping step (an agent: ``engine.core.step_loop``) runs as a sub-orchestration of its run
(``LOOP_ORCHESTRATOR``, ``engine.durable.loop_orchestration``) whose history records each of its calls as
an activity (``CALL_ACTIVITY``, ``engine.durable.call_activity``). Its instance id derives from the run,
the step and the attempt, so a replay of the run starts (and finds) the same one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from engine.core.jsontext import after_mark
from engine.core.loop_calls import CallOutcome, LoopCall
from engine.core.mapping import ItemTagJSON

LOOP_ORCHESTRATOR = "workflow_step_loop"
CALL_ACTIVITY = "run_step_call"
_FAILED = "[workflow step call failed for good] "


class LoopInput(BaseModel):
    """What a looping step's orchestration starts from: the step, and how its run reads answers."""

    workflow: str
    version: str | None
    fingerprint: str | None
    traceparent: str | None = None  # the run's: the calls' spans join its trace
    instance_id: str  # the run's: requests, answers and idempotency keys are the run's
    executor: str
    superstep: int
    ordinal: int
    attempt: int
    idempotency_key: str  # the step's (each call derives its own)
    message: Any = None
    item: ItemTagJSON | None = None
    strict_answers: bool = True
    signed_answers: bool = True
    run_nonce: str | None = None


class CallRequest(BaseModel):
    """One attempt of one call, as the call activity receives it (and validates it, on arrival)."""

    workflow: str
    version: str | None
    executor: str
    instance_id: str
    superstep: int
    ordinal: int
    idempotency_key: str  # the step's
    call: LoopCall
    attempt: int
    traceparent: str | None = None
    run_nonce: str | None = None  # the run's execution: its streams are kept under it


class CallFailedForGood(Exception):
    """Raised by the call activity when no attempt follows: the host records a failed activity, which a
    rewind removes and runs again (a result returned as a value would be replayed unchanged)."""

    def __init__(self, outcome: CallOutcome) -> None:
        self.outcome = outcome
        super().__init__(_FAILED + outcome.model_dump_json())


def call_failure_in(*texts: Any) -> CallOutcome | None:
    """The ``CallOutcome`` a ``CallFailedForGood`` carried, found in a failure's text(s), or None."""
    for text in texts:
        value = after_mark(text, _FAILED)
        if value is None:
            continue
        try:
            return CallOutcome.model_validate(value)
        except ValidationError:
            continue
    return None


def loop_instance_id(run: str, executor: str, superstep: int, ordinal: int, attempt: int) -> str:
    """The orchestration of one attempt of one looping step of a run."""
    return f"{run}:{executor}:{superstep}:{ordinal}:a{attempt}"


__all__ = [
    "CALL_ACTIVITY",
    "LOOP_ORCHESTRATOR",
    "CallFailedForGood",
    "CallRequest",
    "LoopInput",
    "call_failure_in",
    "loop_instance_id",
]
