"""The durable run's custom status: a small, bounded summary, written here and read through ``RunStatus``.

It holds counts, never lists, so it stays far below the 16 KB the Durable Functions host allows whatever
the size of the run. Everything a person reads about one run (pending approvals, executors, decisions)
comes from the run's history (``engine.durable.fold``), the one owner of that state; the status serves
lists of runs, where folding every run would cost too much.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.core.run_state import RunError, RunState
from engine.durable.phase import Phase, phase_of

ERROR_MESSAGE_LIMIT = 2_000


class RunStatus(BaseModel):
    """Progress of a run at a glance; also parses the larger status that earlier versions wrote."""

    workflow: str
    phase: Phase = "running"
    superstep: int = 0
    running_count: int = 0
    approvals_count: int = 0
    executed_count: int = 0
    error: RunError | None = None
    # The run's own clock, to the microsecond: the status API's created and updated times are whole
    # seconds (the extension prints them so), too coarse for the duration of a run that takes 400 ms.
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @classmethod
    def read(cls, custom_status: Any) -> RunStatus | None:
        """The status an orchestrator set, or None when it set none (or something else set it)."""
        if not isinstance(custom_status, dict):
            return None
        try:
            return cls.model_validate(custom_status)
        except ValidationError:
            return None


def build_status(
    state: RunState,
    *,
    running: int,
    executed: int,
    asked: int = 0,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> dict[str, Any]:
    """``asked``: requests the run's map partitions asked and have not all reported (counted as open);
    ``started_at``: when the run's first execution started; ``ended_at``: when it completed or failed."""
    error = state.error
    if error is not None and len(error.message) > ERROR_MESSAGE_LIMIT:
        error = error.model_copy(update={"message": error.message[:ERROR_MESSAGE_LIMIT] + "…"})
    return RunStatus(
        workflow=state.workflow,
        phase=phase_of(None, ended=state.status, running=running, asking=bool(state.approvals or asked)),
        superstep=state.superstep,
        running_count=running,
        approvals_count=len(state.approvals) + asked,
        executed_count=executed,
        error=error,
        started_at=started_at,
        ended_at=ended_at,
    ).model_dump(mode="json")
