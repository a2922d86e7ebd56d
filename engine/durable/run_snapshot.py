"""A durable run as its history tells it, frozen: the read model every view reads.

``engine.durable.fold`` replays the real orchestrator over a run's recorded history and takes this
snapshot of where it got. Nothing outside ``engine.durable`` sees the live ``Orchestration``: views, the
event feed, the timeline, map progress and the approval endpoints read a ``RunSnapshot`` (as Temporal
keeps its replayer apart from the workflow it replays). It is taken when the replay is over, so nothing
changes what it holds, and its collections are tuples and read-only mappings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from engine.core.graph import Workflow
from engine.core.loop_calls import CallOutcome
from engine.core.routing import Gather
from engine.core.run_state import ClosedApproval, PendingApproval, RunError
from engine.core.supersteps import Step
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.partition import AskedPartition
from engine.durable.step_messages import StepIdentity, StepRequest, StepResult

Outcome = Literal["waiting", "completed", "failed", "continued"]
StepKey = tuple[str, int, int, int]  # (executor, superstep, ordinal, attempt)


class CallRecord(NamedTuple):
    """One attempt of one call of a looping step, as its orchestration's history recorded it."""

    outcome: CallOutcome
    scheduled: datetime | None
    completed: datetime | None
    failed_for_good: bool


class Attempt(NamedTuple):
    """One step attempt an execution took in: the timeline's trail and the event feed read them."""

    step: Step
    attempt: int
    scheduled: datetime
    completed: datetime
    result: StepResult
    superstep: int


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """Where a run (or a map partition) stands after its recorded history, as every reader sees it.

    ``open_approvals`` are the requests it waits on itself; ``asking`` the partitions of a map's
    approvals it waits on (each holds its own requests); ``running`` the steps of the round in flight,
    ``in_flight`` those with their attempt numbers.
    """

    workflow: Workflow  # the graph the run replays on (its own version)
    outcome: Outcome
    started: OrchestratorInput
    superstep: int
    error: RunError | None
    open_approvals: tuple[PendingApproval, ...]
    closed_approvals: tuple[ClosedApproval, ...]
    executed: frozenset[str]
    running: tuple[Step, ...]
    in_flight: tuple[tuple[Step, int], ...]
    round_started: datetime | None
    attempts: tuple[Attempt, ...]
    asking: tuple[AskedPartition, ...]
    partitions: Mapping[str, str]  # every partition this execution started: instance id -> map node
    # Sub-workflow runs the run started (instance id -> workflow): this execution's, and the first of the
    # earlier executions' the trail carries (engine/durable/trail.py); ``children_total`` counts them all.
    children: Mapping[str, str]
    requests: Mapping[StepKey, StepRequest]  # what the orchestrator asked of each step attempt
    map_batches: Mapping[int, int]  # map index -> batches begun
    gathering: Mapping[str, Gather]  # map batches still gathering their items' outputs, by batch id
    execution_started: datetime
    unasked: tuple[StepIdentity, ...] = field(default=())
    children_total: int = 0
    # Looping steps (agents): the orchestrations this execution started for them (instance id -> node);
    # for a looping step's own orchestration, its calls.
    loops: Mapping[str, str] = field(default_factory=dict)
    calls: tuple[CallRecord, ...] = field(default=())
    instance_id: str = ""  # the run's (a partition's and a step orchestration's: their run's)

    @property
    def input(self) -> Any:
        """The run's input as JSON (after continue-as-new: as carried in the checkpoint)."""
        return self.started.input

    @property
    def asks_people(self) -> bool:
        """Whether the run waits for a person (itself, or in a partition of a map's approvals)."""
        return bool(self.open_approvals or self.asking)

    def drift(self) -> tuple[str | None, str] | None:
        """(the step, why) when the code that replayed the history is not the code that wrote it: a
        recorded result belongs to another step than the code expects, or the history holds steps the
        code does not run there. None when the history is one this code would have written."""
        error = self.error
        if self.outcome == "failed" and error is not None and error.type == "NonDeterministicReplay":
            return error.executor_id, error.message
        if not self.unasked:
            return None
        first = self.unasked[0]
        more = f" (and {len(self.unasked) - 1} more recorded steps)" if len(self.unasked) > 1 else ""
        return first.executor, (
            f"the history ran step {first.executor!r} in superstep {first.superstep} (attempt "
            f"{first.attempt}) but this code does not run it there{more}: the workflow changed under a run "
            "in flight"
        )


__all__ = ["Attempt", "CallRecord", "Outcome", "RunSnapshot", "StepKey"]
