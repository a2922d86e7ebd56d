"""A looping step's orchestration as its history tells it: its calls, and the questions it asked.

The run's view, timeline and event feed read an agent step's calls and its open questions from the
step's own orchestration (``engine.durable.loop_orchestration``), folded as a run's history is: the real
orchestration replayed over the recorded events (``engine.durable.fold.HistoryContext``), then frozen as a
``RunSnapshot`` whose ``open_approvals`` / ``closed_approvals`` are the step's requests and whose ``calls``
are its calls with their times, in the order they completed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import MappingProxyType

from engine.core.versions import WorkflowVersions
from engine.durable.fold import HistoryContext, drive_history, pin_deadlines
from engine.durable.history import HistoryEvent
from engine.durable.loop_messages import CALL_ACTIVITY
from engine.durable.loop_orchestration import LoopFailed, LoopRun, loop_workflow
from engine.durable.orchestrator import STEP_ACTIVITY
from engine.durable.run_snapshot import CallRecord, RunSnapshot
from engine.durable.step_messages import StepFailedForGood


def call_records(events: Sequence[HistoryEvent]) -> tuple[CallRecord, ...]:
    """Every call the history recorded (an attempt each), in the order they completed."""
    records = []
    for event in events:
        if event.type in ("TaskCompleted", "TaskFailed") and event.function_name == CALL_ACTIVITY:
            outcome = event.call_outcome()
            if outcome is not None:
                records.append(
                    CallRecord(outcome, event.scheduled_time, event.timestamp, event.type == "TaskFailed")
                )
    return tuple(records)


def fold_loop(workflows: WorkflowVersions, instance_id: str, events: Sequence[HistoryEvent]) -> RunSnapshot:
    """The step's orchestration replayed over ``events``. Raises ``VersionNotAvailable`` as ``fold``."""
    context = HistoryContext(instance_id, events, STEP_ACTIVITY)
    workflow, data = loop_workflow(workflows, context)
    loop = LoopRun(workflow, data, context)
    outcome = drive_history(loop.run(), context, (StepFailedForGood, LoopFailed))
    state = loop.state
    if outcome == "waiting":
        pin_deadlines(state.approvals, loop.approvals)
    started = next((e.timestamp for e in events if e.type == "ExecutionStarted"), None)
    return RunSnapshot(
        workflow=workflow,
        outcome=outcome,
        started=loop.approvals.started,
        superstep=data.superstep,
        error=state.error,
        open_approvals=tuple(state.approvals) if outcome == "waiting" else (),
        closed_approvals=tuple(loop.approvals.closed),
        executed=frozenset(),
        running=(),
        in_flight=(),
        round_started=None,
        attempts=(),
        asking=(),
        partitions=MappingProxyType({}),
        children=MappingProxyType({}),
        requests=MappingProxyType({}),
        map_batches=MappingProxyType({}),
        gathering=MappingProxyType({}),
        execution_started=started or datetime(1970, 1, 1, tzinfo=UTC),
        calls=call_records(events),
        instance_id=data.instance_id,
    )


__all__ = ["call_records", "fold_loop"]
