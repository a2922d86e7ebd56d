"""What an orchestrator execution starts from: the run's input, or a checkpoint after continue-as-new."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from engine.core.graph import Workflow
from engine.core.run_state import ClosedApproval, RunState


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
