"""What an orchestrator execution starts from: the run's input, or a checkpoint after continue-as-new."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from engine.core.graph import Workflow
from engine.core.run_state import ClosedApproval, RunState
from engine.durable.trail import Trail

_STARTED_AT: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)
_CHILDREN: TypeAdapter[dict[str, str]] = TypeAdapter(dict[str, str])
_COUNT: TypeAdapter[int] = TypeAdapter(int)
# Each replay re-reads the whole history of the current execution, so a run's total replay cost grows
# with (supersteps x supersteps per execution); every execution also costs one more episode and a copy of
# the checkpoint. 10 is where bench/replay.py's sweep flattens (ms/step at N = 800, 2026-12-03: 2.6 at
# 20, 1.75 at 10, 1.6 at 8); the timeline spans executions through the trail either way.
DEFAULT_CONTINUE_EVERY = 10
# How many supersteps every execution of a run ran before continuing as new, until each execution's input
# recorded its own (``OrchestratorInput.continue_every``): runs started then replay by it.
UNRECORDED_CONTINUE_EVERY = 20


class OrchestratorInput(BaseModel):
    """The input of every execution of a run.

    ``strict_answers`` and ``signed_answers`` are set when a run starts, and carried on: runs started
    before answers were validated strictly, or signed, keep the rules their recorded answers were accepted
    by, so a replay never takes another path. A run whose first episode finds them unset (or false) was
    started by the current code around the workflow API: ``engine.durable.admission`` makes it a new run
    (see there); the old reading is kept only for runs whose history says older code started them.

    ``run_nonce`` is random, chosen when the run starts and carried on: it tells this run from every
    other run that had or will have the same instance id (after a purge), and approval links and signed
    answers name it, so they count only for the run that asked. Runs started before it existed have
    none; their links and answers name none.
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
    # How many supersteps this execution runs before it continues as new: the app's setting when the
    # execution started, recorded so that a deploy changing the setting never changes the path a recorded
    # execution replays (None: started before it was recorded, see ``supersteps_per_execution``).
    continue_every: int | None = Field(default=None, ge=1)

    def supersteps_per_execution(self) -> int:
        """How many supersteps this execution runs before it continues as new."""
        return self.continue_every or UNRECORDED_CONTINUE_EVERY

    def answers_binding(self) -> dict[str, Any]:
        """What a partition needs to take answers as this run does: strict, signed, for this run's nonce."""
        return {
            "strict_answers": self.strict_answers,
            "signed_answers": self.signed_answers,
            "run_nonce": self.run_nonce,
        }

    def read_trail(self) -> Trail:
        """The trail carried so far (an unreadable one is display data lost, never a path changed)."""
        try:
            return Trail.model_validate(self.trail)
        except ValidationError:
            return Trail()

    def trail_started_at(self) -> datetime | None:
        """When the run's first execution started, as the trail carries it: read alone, since every
        episode needs it and parsing the whole trail for it cost replays ~7% (bench/replay.py)."""
        try:
            return _STARTED_AT.validate_python(self.trail.get("started_at"))
        except ValidationError:
            return None

    def trail_children(self) -> tuple[dict[str, str], int]:
        """The sub-workflow runs earlier executions started, as the trail carries them (the first ones,
        and how many in all), read alone for a run's view."""
        try:
            carried = _CHILDREN.validate_python(self.trail.get("children") or {})
            total = _COUNT.validate_python(self.trail.get("children_total") or 0)
        except ValidationError:
            return {}, 0
        return carried, max(total, len(carried))

    # W3C trace context of the run's start: every episode and step of the run joins that trace.
    traceparent: str | None = None
    run_nonce: str | None = None

    @classmethod
    def start(
        cls,
        message: Any,
        *,
        workflow: Workflow | None = None,
        traceparent: str | None = None,
        run_nonce: str | None = None,
        continue_every: int = DEFAULT_CONTINUE_EVERY,
    ) -> OrchestratorInput:
        """A new run's input (``run_nonce``: given only where a start must be reproducible;
        ``continue_every``: the hosting app's setting, recorded for the run's first execution)."""
        return cls(
            input=message,
            strict_answers=True,
            signed_answers=True,
            version=workflow.version if workflow else None,
            fingerprint=workflow.fingerprint if workflow else None,
            traceparent=traceparent,
            run_nonce=run_nonce or secrets.token_hex(16),
            continue_every=continue_every,
        )
