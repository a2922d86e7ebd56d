"""What a looping step asks for and gets back, typed: its calls, their outcomes, the people it asks.

A looping step (``engine.core.step_loop``) is a deterministic state machine over JSON. Each turn it asks
for calls (``LoopCall``: a model call, a tool call, a listing of an MCP server's tools), for people to
decide before a call (``LoopAsk``), or it ends (``Finish`` / ``Fail``). What came back (``CallOutcome``,
``AskDecision``) is JSON too, so a durable runner records it in its history and replays the machine over
it without calling anything again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from engine.core.run_error import RunError


class LoopCall(BaseModel):
    """One call a looping step asks for. ``key`` is unique within the step (``m1``, ``t2.0``) and the same
    on every replay; ``kind`` and ``name`` are what views show (``model`` / ``gpt-4o``, ``tool`` /
    ``refund``); ``payload`` is whatever the executor needs to make the call (JSON)."""

    key: str
    kind: str
    name: str
    payload: Any = None


class CallOutcome(BaseModel):
    """How one attempt of one call ended. ``value`` is what the step's state machine reads; ``shown`` is
    what people read (its arguments, its result, tokens), kept apart so a view never parses ``value``.
    A failure says whether another attempt may cure it; whether there *is* one is
    ``engine.core.retry.retry_delay``'s call."""

    key: str
    kind: str
    name: str
    attempt: int = 1
    ok: bool
    value: Any = None
    error: RunError | None = None
    retryable: bool = False
    retry_after_ms: float | None = None
    duration_ms: float = 0.0
    shown: dict[str, Any] = Field(default_factory=dict)
    # The exception a failed attempt raised, in the process that made it (never serialized): a direct
    # ``handle`` of an agent re-raises it as it was.
    _raised: BaseException | None = PrivateAttr(default=None)

    @property
    def raised(self) -> BaseException | None:
        return self._raised


@dataclass(frozen=True, slots=True)
class CallResult:
    """What a call returned: ``value`` for the state machine, ``shown`` for people (JSON both)."""

    value: Any
    shown: dict[str, Any]


class LoopAsk(BaseModel):
    """A person asked before a call: which of the step's own approvals, and the request they read."""

    key: str  # the call it gates
    approval_id: str  # one of the executor's ``step_approvals()``
    request: Any  # JSON of the approval's request type


class AskDecision(BaseModel):
    """What a person (or a deadline) decided about a ``LoopAsk``: the approval's response as JSON."""

    key: str
    response: Any
    decided_by: str | None = None
    via: str = "runner"
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class Perform:
    """Make these calls (concurrently: the step issued them together, so they are independent)."""

    calls: list[LoopCall]


@dataclass(frozen=True, slots=True)
class Ask:
    """Ask these people, and wait until each has decided (or its deadline has)."""

    asks: list[LoopAsk]


@dataclass(frozen=True, slots=True)
class Finish:
    """The step's output, as JSON of its output type."""

    output: Any


@dataclass(frozen=True, slots=True)
class Fail:
    """The step has failed for good (a retry would only repeat what the state machine decided)."""

    error: RunError


Turn = Perform | Ask | Finish | Fail


def call_idempotency_key(step_key: str, call_key: str) -> str:
    """The idempotency key one call of a step hands to whoever it calls: stable across replays, retries
    and processes (derived from the step's key and the call's key), distinct for every other call."""
    return hashlib.sha256(f"{step_key}\x1f{call_key}".encode()).hexdigest()[:32]


__all__ = [
    "Ask",
    "AskDecision",
    "CallOutcome",
    "CallResult",
    "Fail",
    "Finish",
    "LoopAsk",
    "LoopCall",
    "Perform",
    "Turn",
    "call_idempotency_key",
]
