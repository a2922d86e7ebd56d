"""The run timeline's JSON (``GET .../runs/{id}?timeline=true``), typed: the API answers it and OpenAPI
documents it from these models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from engine.core.run_state import RunError

EARLIER = "from an earlier execution (continue-as-new): a compact record, without input or output"


class StepEntry(BaseModel):
    """One attempt of one step."""

    kind: Literal["step"] = "step"
    executor: str | None = None
    superstep: int | None = None
    ordinal: int | None = None
    attempt: int | None = None
    item: int | None = Field(
        default=None, description="a map's per-item step: the item's index in its batch (this execution only)"
    )
    batch: str | None = Field(
        default=None, description="a map's per-item step: its batch (as in the run view)"
    )
    ok: bool
    retryable: bool = False
    will_retry: bool | None = Field(
        default=None,
        description="a failed attempt: true when another attempt of the step follows (so the step has not "
        "failed), false when it failed for good; null for an attempt that succeeded",
    )
    scheduled: datetime | None = None
    completed: datetime | None = None
    elapsed_ms: float | None = Field(default=None, description="wall time from scheduled to completed")
    offset_ms: float | None = Field(default=None, description="from the run's start to scheduled")
    duration_ms: float | None = Field(default=None, description="the executor's own run time")
    error: RunError | None = None
    input: Any = Field(default=None, description="the message the step received (this execution only)")
    output: Any = Field(default=None, description="what the step returned (this execution only)")
    idempotency_key: str | None = None
    agent: dict[str, Any] | None = Field(default=None, description="an agent step's model and token usage")
    earlier: bool = Field(default=False, description=EARLIER)
    partition: str | None = Field(
        default=None, description="the map partition (sub-orchestration) that ran this item's step"
    )


class CallEntry(BaseModel):
    """One attempt of one call of an agent step (a model call, a tool call, the listing of an MCP
    server's tools), from the step's own orchestration (its history records each call as an activity)."""

    kind: Literal["call"] = "call"
    executor: str
    superstep: int | None = None
    ordinal: int | None = None
    step_attempt: int | None = Field(default=None, description="the attempt of the step that made the call")
    key: str = Field(description="the call's key in its step (m1: the first model call, t2.0: a tool call)")
    call: str = Field(description="model, tool or list_tools")
    name: str = Field(description="the tool's name, the model's, or the MCP server's")
    attempt: int = 1
    ok: bool
    scheduled: datetime | None = None
    completed: datetime | None = None
    elapsed_ms: float | None = Field(default=None, description="wall time from scheduled to completed")
    offset_ms: float | None = Field(default=None, description="from the run's start to scheduled")
    duration_ms: float | None = Field(default=None, description="the call's own run time")
    arguments: Any = Field(default=None, description="a tool call's arguments")
    result: Any = Field(default=None, description="what the call answered (a tool's text, the model's reply)")
    tool_calls: list[dict[str, Any]] | None = Field(
        default=None, description="the tools a model reply called"
    )
    tokens: dict[str, Any] | None = Field(default=None, description="a model call's prompt/completion/total")
    model: str | None = None
    error: RunError | None = None
    step_orchestration: str | None = Field(default=None, description="the agent step's orchestration")


class ApprovalEntry(BaseModel):
    """An answer to an approval arriving (an ``approval-<requestId>`` event), or an approval closing by
    its deadline; earlier executions' decisions come from the run's closed approvals."""

    kind: Literal["approval"] = "approval"
    request_id: str
    approval_id: str | None = None
    at: datetime | None = None
    outcome: Literal["answered", "timed_out", "not_taken"] = Field(
        description="answered: this answer decided the approval; not_taken: invalid, unsigned from a "
        "person not allowed, or arriving after the approval closed"
    )
    answer: Any = Field(default=None, description="the response the answer carried")
    decided_by: str | None = Field(default=None, description="who decided, as the signature vouches")
    via: str | None = Field(default=None, description="endpoint, event or timeout")
    signed: bool = Field(default=False, description="sent through the approval endpoint, signed")
    earlier: bool = Field(default=False, description=EARLIER)


class EventEntry(BaseModel):
    """Any other external event raised on the run."""

    kind: Literal["event"] = "event"
    name: str | None = None
    at: datetime | None = None
    data: Any = None


class TimerEntry(BaseModel):
    kind: Literal["timer"] = "timer"
    at: datetime | None = None
    fire_at: str | None = None


class RunEntry(BaseModel):
    """A milestone: started, continued (as new, after a superstep), completed, failed, terminated."""

    kind: Literal["run"] = "run"
    event: str
    at: datetime | None = None
    after_superstep: int | None = None
    elapsed_ms: float | None = Field(default=None, description="from the run's start")
    earlier: bool = Field(default=False, description=EARLIER)


Entry = Annotated[
    StepEntry | CallEntry | ApprovalEntry | EventEntry | TimerEntry | RunEntry, Field(discriminator="kind")
]


class Tokens(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0
    tool_calls: int = 0


class Totals(BaseModel):
    steps: int = 0
    failed_attempts: int = Field(default=0, description="failed attempts, those retried included")
    failed_for_good: int = Field(default=0, description="failed attempts no other attempt followed")
    retries: int = 0
    step_ms: float = 0.0
    tokens: Tokens = Field(default_factory=Tokens)
    earlier_steps_dropped: int = Field(
        default=0, description="step attempts of earlier executions past the newest 100 kept, counted only"
    )
    partitions_not_listed: int = Field(
        default=0, description="map partitions whose steps are not listed (past the first 2,000 rows)"
    )


class Timeline(BaseModel):
    """Every execution of the run in order: earlier ones from the checkpoint's compact trail, the current
    one from its history (with each step's input and output)."""

    started: datetime | None = Field(default=None, description="when the run's first execution started")
    executions: int = Field(default=1, description="executions so far (1 + continue-as-new count)")
    entries: list[Entry] = Field(default_factory=list)
    totals: Totals = Field(default_factory=Totals)
