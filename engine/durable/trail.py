"""What a run's timeline keeps of executions that continued as new: compact step records, carried on.

A host keeps only the current execution's history (continue-as-new discards the rest, on Azure and on
devhost), so the orchestrator carries a short record of every step attempt it took in, and of each
continue-as-new, in its checkpoint input. Records hold no payloads (inputs and outputs stay in the
history of their own execution) and are capped: the newest ``MAX_STEPS`` step attempts are kept, older
ones only counted, so a checkpoint stays well under the 45 KB a queue message holds inline on Azure.
Times come from the orchestrator's clock (``current_utc_datetime``), so replays rebuild the same trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, model_serializer, model_validator

MAX_STEPS = 100  # step attempts kept from earlier executions: about 110 bytes each as JSON
MAX_CONTINUATIONS = 50  # continue-as-new markers kept (one per continue_every supersteps)
MAX_ERROR_CHARS = 120
# Sub-workflow runs kept from earlier executions (the first ones started; the rest only counted): as many
# as a run's view lists (``engine.functions.reads_api``).
MAX_CHILDREN = 100


class StepRecord(BaseModel):
    """One step attempt of an earlier execution: which step, when, how long, and how it ended."""

    executor: str
    superstep: int
    ordinal: int = 0
    attempt: int = 1
    ok: bool
    scheduled: datetime = Field(description="the orchestrator's clock when it scheduled the attempt")
    completed: datetime = Field(description="the orchestrator's clock when it took the result in")
    duration_ms: float = 0.0
    error: str | None = Field(default=None, description="the error type and message, cut short")
    tokens: int | None = Field(default=None, description="an agent step's total tokens")

    # Stored as one JSON array, not an object: every episode of a continued execution reads the trail
    # with its input, so its size is replay time (an object per record cost replays ~15%, bench/replay.py).
    @model_serializer
    def _row(self) -> list[Any]:
        wall = round((self.completed - self.scheduled).total_seconds() * 1000, 1)
        return [
            self.executor,
            self.superstep,
            self.ordinal,
            self.attempt,
            self.ok,
            self.scheduled.isoformat(),
            wall,
            round(self.duration_ms, 1),
            self.error,
            self.tokens,
        ]

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, data: Any) -> Any:
        if not isinstance(data, list) or len(data) != len(ROW):
            return data
        record = dict(zip(ROW, data, strict=True))
        try:
            scheduled = datetime.fromisoformat(record["scheduled"])
            record["completed"] = scheduled + timedelta(milliseconds=record.pop("wall_ms"))
        except (TypeError, ValueError):
            return data  # not a row of ours: let validation say what is wrong
        return record


ROW = (
    "executor",
    "superstep",
    "ordinal",
    "attempt",
    "ok",
    "scheduled",
    "wall_ms",
    "duration_ms",
    "error",
    "tokens",
)


class Continuation(BaseModel):
    """A continue-as-new: after which superstep, and when."""

    after_superstep: int
    at: datetime


class Trail(BaseModel):
    """The run's earlier executions as a timeline needs them (bounded; see the module docstring)."""

    started_at: datetime | None = None  # when the run's first execution started
    steps: list[StepRecord] = Field(default_factory=list)
    dropped_steps: int = 0  # step attempts older than the kept ones
    continuations: list[Continuation] = Field(default_factory=list)
    executions: int = 1  # this one and every earlier one (continuations past the cap are counted here)
    # Sub-workflow runs earlier executions started (instance id -> workflow): the first MAX_CHILDREN, and
    # how many there were in all.
    children: dict[str, str] = Field(default_factory=dict)
    children_total: int = 0

    def carried(
        self, steps: list[StepRecord], continuation: Continuation, children: Mapping[str, str]
    ) -> Trail:
        """This trail with one more execution's steps, its sub-workflow runs and its continue-as-new, cut to
        the caps."""
        kept = [*self.steps, *steps]
        cut = max(0, len(kept) - MAX_STEPS)
        room = max(0, MAX_CHILDREN - len(self.children))
        return Trail(
            started_at=self.started_at,
            steps=kept[cut:],
            dropped_steps=self.dropped_steps + cut,
            continuations=[*self.continuations, continuation][-MAX_CONTINUATIONS:],
            executions=self.executions + 1,
            children={**self.children, **dict(list(children.items())[:room])},
            children_total=self.children_total + len(children),
        )


def error_text(error_type: str, message: str) -> str:
    """An error as the trail keeps it: ``Type: message``, cut to ``MAX_ERROR_CHARS``."""
    text = f"{error_type}: {message}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
