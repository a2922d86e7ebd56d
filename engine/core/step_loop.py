"""Looping steps: executors whose work is a sequence of recorded calls, and THE driver both runners run.

An agent step is a conversation: a model call, the tool calls it asks for, a person asked before one of
them, the model again. Run as one opaque attempt, a crash after a tool refunded an order would run the
whole conversation again. So a ``LoopExecutor`` does not run as one attempt: its logic is a deterministic
state machine over JSON (``loop_start``, ``loop_turn``, ``take_calls``, ``take_decisions``), and the only
side effects are its calls (``loop_call``), each made on its own.

``drive`` is the loop, written once: it turns the machine's turns into effects (``Calls``, ``Pause``,
``Asks``) and reads their results back, retrying each failed call under the retry policy of the call
(``engine.core.retry.retry_delay``: THE retry decision, with a server's Retry-After). The in-memory
runner performs the effects directly; the durable runner performs each call as an activity, each pause
as a durable timer and each ask as an approval, so its history records every outcome and a replay feeds
them back without calling anything again. Being a generator of plain values, ``drive`` is deterministic:
what it yields depends only on what it was sent.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from engine.core.executor import Executor, StepContext
from engine.core.loop_calls import (
    Ask,
    AskDecision,
    CallOutcome,
    CallResult,
    Fail,
    Finish,
    LoopAsk,
    LoopCall,
    Turn,
)
from engine.core.retry import FailureKind, RetryPolicy, retry_delay
from engine.core.run_error import RunError

if TYPE_CHECKING:
    from engine.core.approval import Approval


class LoopExecutor(Executor[Any, Any]):
    """An executor run as a recorded loop of calls (``engine.agents.Agent`` is one).

    Everything but ``loop_call`` must be deterministic and free of I/O: the durable runner runs it again
    on every replay of the step's orchestration.
    """

    def loop_start(self, message: Any, step_key: str) -> dict[str, Any]:
        """The state (JSON) a step starts from, for ``message`` (already validated)."""
        raise NotImplementedError

    def loop_turn(self, state: dict[str, Any]) -> Turn:
        """What the step does next: ``Perform`` calls, ``Ask`` people, ``Finish`` or ``Fail``."""
        raise NotImplementedError

    def take_calls(self, state: dict[str, Any], outcomes: Sequence[CallOutcome]) -> dict[str, Any]:
        """The state after the calls of a ``Perform`` succeeded (outcomes in the order asked)."""
        raise NotImplementedError

    def take_decisions(self, state: dict[str, Any], decisions: Sequence[AskDecision]) -> dict[str, Any]:
        """The state after the people of an ``Ask`` decided (in the order asked)."""
        raise NotImplementedError

    async def loop_call(self, call: LoopCall, ctx: StepContext) -> CallResult:
        """Make one call (the only side effect). Raise to fail the attempt: a ``TransientError`` (with
        ``retry_after``) is worth another, a ``NonRetryableError`` is not."""
        raise NotImplementedError

    def call_retry(self, call: LoopCall) -> RetryPolicy | None:
        """The retry policy of a call (by default the step's)."""
        return self.retry

    def describe_call(self, call: LoopCall) -> dict[str, Any]:
        """What people read about a call that failed (its arguments, say): ``CallOutcome.shown``."""
        return {}

    def loop_annotations(self, state: dict[str, Any]) -> dict[str, Any]:
        """Facts about the step for its events and views (token usage, say)."""
        return {}

    def step_approvals(self) -> Mapping[str, Approval[Any, Any]]:
        """The approvals this step may ask (``LoopAsk.approval_id`` names one), by id."""
        return {}


@dataclass(frozen=True, slots=True)
class Calls:
    """Effect: make these calls, each at its attempt number; send back their ``CallOutcome``s in order."""

    calls: list[tuple[LoopCall, int]]


@dataclass(frozen=True, slots=True)
class Pause:
    """Effect: wait this long before the next attempts (a durable timer, or the clock); send None."""

    delay: timedelta


@dataclass(frozen=True, slots=True)
class Asks:
    """Effect: ask these people; send back their ``AskDecision``s in order. ``state`` is the machine's
    state at the question, from which ``drive`` starts again once they have decided (a paused in-memory
    run keeps it in its checkpoint)."""

    asks: list[LoopAsk]
    state: dict[str, Any]


Effect = Calls | Pause | Asks


@dataclass(frozen=True, slots=True)
class LoopEnd:
    """How the loop ended: an output (JSON of the output type), or the error it failed with for good."""

    output: Any
    error: RunError | None
    annotations: dict[str, Any]
    state: dict[str, Any]
    failed_call: CallOutcome | None = None  # the call that failed for good, when one did

    @property
    def ok(self) -> bool:
        return self.error is None


def drive(executor: LoopExecutor, state: dict[str, Any]) -> Generator[Effect, Any, LoopEnd]:
    """THE loop of a looping step, from ``state`` (``loop_start``'s, or an ``Asks``' state)."""
    while True:
        turn = executor.loop_turn(state)
        if isinstance(turn, Finish):
            return LoopEnd(turn.output, None, executor.loop_annotations(state), state)
        if isinstance(turn, Fail):
            return LoopEnd(None, _owned(turn.error, executor), executor.loop_annotations(state), state)
        if isinstance(turn, Ask):
            decisions = yield Asks(list(turn.asks), state)
            state = executor.take_decisions(state, decisions)
            continue
        outcomes = yield from _perform(executor, turn.calls)
        if isinstance(outcomes, CallOutcome):  # a call failed for good: so does the step
            error = outcomes.error or RunError(type="CallFailed", message=f"call {outcomes.key} failed")
            return LoopEnd(None, _owned(error, executor), executor.loop_annotations(state), state, outcomes)
        state = executor.take_calls(state, outcomes)


def _perform(
    executor: LoopExecutor, calls: list[LoopCall]
) -> Generator[Effect, Any, list[CallOutcome] | CallOutcome]:
    """The calls' outcomes, each failed call retried (after the longest wait any of them needs) until it
    succeeds; or the first outcome that failed for good."""
    attempts = {call.key: 1 for call in calls}
    done: dict[str, CallOutcome] = {}
    todo = list(calls)
    while todo:
        replies: list[CallOutcome] = yield Calls([(call, attempts[call.key]) for call in todo])
        again: list[LoopCall] = []
        wait = timedelta(0)
        for call, reply in zip(todo, replies, strict=True):
            if reply.ok:
                done[call.key] = reply
                continue
            ms = reply.retry_after_ms
            failure = FailureKind(reply.retryable, timedelta(milliseconds=ms) if ms is not None else None)
            delay = retry_delay(executor.call_retry(call), failure, attempts[call.key])
            if delay is None:
                return reply
            attempts[call.key] += 1
            again.append(call)
            wait = max(wait, delay)
        if again and wait > timedelta(0):
            yield Pause(wait)
        todo = again
    return [done[call.key] for call in calls]


def _owned(error: RunError, executor: LoopExecutor) -> RunError:
    return error if error.executor_id else error.model_copy(update={"executor_id": executor.id})


__all__ = ["Asks", "Calls", "Effect", "LoopEnd", "LoopExecutor", "Pause", "drive"]
