"""What an orchestrator execution starts from: the run's input, or a checkpoint after continue-as-new."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from engine.core.graph import Workflow
from engine.core.run_state import ClosedApproval, RunState
from engine.durable.trail import Trail


class OrchestratorInput(BaseModel):
    """The input of every execution of a run.

    ``strict_answers`` and ``signed_answers`` are set when a run starts, and carried on: runs started
    before answers were validated strictly, or signed, keep the rules their recorded answers were accepted
    by, so a replay never takes another path.
    """

    input: Any = None
    checkpoint: RunState | None = None
    executed: list[str] = Field(default_factory=list)
    closed: list[ClosedApproval] = Field(default_factory=list)
    strict_answers: bool = False
    signed_answers: bool = False
    # The graph the run started on (None for runs started before versions were recorded).
    version: str | None = None
    fingerprint: str | None = None
    # Earlier executions as the timeline needs them: a Trail (engine/durable/trail.py) as JSON. Left unparsed
    # here: every episode reads this input, and only a continue-as-new and the timeline read the records
    # (parsing a full trail on every episode cost replays about a fifth more, bench/replay.py).
    trail: dict[str, Any] = Field(default_factory=dict)

    def read_trail(self) -> Trail:
        """The trail carried so far (an unreadable one is display data lost, never a path changed)."""
        try:
            return Trail.model_validate(self.trail)
        except ValidationError:
            return Trail()

    # W3C trace context of the run's start: every episode and step of the run joins that trace.
    traceparent: str | None = None

    @classmethod
    def start(
        cls, message: Any, *, workflow: Workflow | None = None, traceparent: str | None = None
    ) -> OrchestratorInput:
        return cls(
            input=message,
            strict_answers=True,
            signed_answers=True,
            version=workflow.version if workflow else None,
            fingerprint=workflow.fingerprint if workflow else None,
            traceparent=traceparent,
        )
