"""The workflow view of a durable run: its history folded through the orchestrator, as people read it.

One owner per fact: everything about one run comes from the fold of its history
(``engine.durable.fold``); the runs list reads the orchestrator's small status (``RunStatus``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.core.graph import Workflow
from engine.core.run_error import RunError
from engine.core.run_state import PendingApproval
from engine.durable.client import InstanceStatus
from engine.durable.history import HistoryEvent
from engine.durable.orchestrator import STEP_ACTIVITY
from engine.durable.phase import FINISHED, phase_of
from engine.durable.run_snapshot import RunSnapshot
from engine.durable.status import RunStatus
from engine.functions.lineage import parent_of
from engine.functions.map_progress import map_progress

CLOSED_SHOWN = 100


@dataclass(frozen=True, slots=True)
class Page:
    skip: int = 0
    top: int = 100


def phase(runtime: str | None, run: RunSnapshot | None) -> str:
    if run is None:
        return phase_of(runtime)
    return phase_of(runtime, running=len(run.running), asking=run.asks_people)


def executor_states(workflow: Workflow, run: RunSnapshot | None, runtime: str | None) -> dict[str, str]:
    """Each node's state: pending (not reached), running, done, failed, or waiting (for a person)."""
    states = dict.fromkeys(workflow.nodes, "pending")
    if run is None:
        return states
    for node_id in run.executed:
        if node_id in states:
            states[node_id] = "done"
    for closed in run.closed_approvals:
        if closed.approval_id in states:
            states[closed.approval_id] = "done"
    if runtime not in FINISHED:
        for step in run.running:
            states[step.executor_id] = "running"
        for pending in run.open_approvals:
            # A looping step's own request (a person asked before a tool) shows on the step.
            states[workflow.approval_owner(pending.approval_id)] = "waiting"
        for asked in run.asking:
            states[asked.approval_id] = "waiting"
    error = run.error
    if runtime == "Failed" and error is not None and error.executor_id in states:
        states[error.executor_id] = "failed"
    return states


def approval_entry(
    workflow: Workflow,
    pending: PendingApproval,
    respond_base: str,
    may_answer: Callable[[PendingApproval], bool],
) -> dict[str, Any]:
    """A pending approval as people read it. ``respond_uri`` carries no token: a view never hands out
    the right to answer; links for a named person are issued on purpose (``.../links``)."""
    node = workflow.approval(pending.approval_id)
    return {
        "request_id": pending.request_id,
        "approval_id": pending.approval_id,
        "event_name": pending.event_name,
        "requested_at": pending.requested_at.isoformat(),
        "deadline": pending.deadline.isoformat() if pending.deadline else None,
        "approvers": pending.approvers,
        "escalated_from": pending.escalated_from,
        "superstep": pending.superstep,
        "request": pending.request,
        "response_schema": node.response_schema(),
        "description": node.description,
        "respond_uri": f"{respond_base}/approvals/{pending.request_id}",
        "links_uri": f"{respond_base}/approvals/{pending.request_id}/links",
        "can_answer": may_answer(pending),
        # Asked once per item of a map batch: which one.
        "item": pending.item.model_dump() if pending.item is not None else None,
    }


def pending_approvals(runtime: str | None, run: RunSnapshot | None) -> list[PendingApproval]:
    if runtime in FINISHED or run is None:
        return []
    return list(run.open_approvals)


def approval_ids(run: RunSnapshot | None) -> dict[str, str]:
    """The approval each open request belongs to (closed ones say it themselves)."""
    if run is None:
        return {}
    return {p.request_id: p.approval_id for p in run.open_approvals}


def run_view(
    workflow: Workflow,
    status: InstanceStatus,
    run: RunSnapshot | None,
    respond_base: str,
    may_answer: Callable[[PendingApproval], bool],
    page: Page,
    events: Sequence[HistoryEvent] = (),
    activity: str = STEP_ACTIVITY,
) -> dict[str, Any]:
    """``events``: the current execution's history (the map items finished in the wave in flight)."""
    runtime = status.runtime
    error: dict[str, Any] | None = None
    if runtime == "Failed":
        failed = run.error if run is not None else None
        error = (failed if failed is not None else unexpected_failure(status.output)).model_dump()
    elif runtime == "Terminated":
        error = {"executor_id": None, "type": "Terminated", "message": str(status.output or "terminated")}
    pending = pending_approvals(runtime, run)
    closed = run.closed_approvals if run is not None else ()
    running = () if runtime in FINISHED or run is None else run.running
    return {
        "workflow": workflow.name,
        "instanceId": status.instance_id,
        "runtimeStatus": runtime,
        "phase": phase(runtime, run),
        "createdTime": status.created.isoformat() if status.created else None,
        "lastUpdatedTime": status.updated.isoformat() if status.updated else None,
        "durationMs": run_duration_ms(status, runtime, run, events),
        "input": run.input if run is not None else None,
        # The graph the run started on; a run from before versions were recorded says null.
        "version": run.started.version if run is not None else None,
        "fingerprint": run.started.fingerprint if run is not None else None,
        "superstep": run.superstep if run is not None else 0,
        "executors": executor_states(workflow, run, runtime),
        "running": sorted({s.executor_id for s in running}),
        "pendingApprovals": [
            approval_entry(workflow, p, respond_base, may_answer)
            for p in pending[page.skip : page.skip + page.top]
        ],
        "pendingApprovalsTotal": len(pending),
        "approvalsSkip": page.skip,
        "approvalsTop": page.top,
        "closedApprovals": [c.model_dump(mode="json") for c in closed[-CLOSED_SHOWN:]],
        "closedApprovalsTotal": len(closed),
        "outputs": status.output if runtime == "Completed" else None,
        "error": error,
        "maps": [
            m.model_dump(mode="json")
            for m in map_progress(
                workflow, run, finished=runtime in FINISHED, events=events, activity=activity
            )
        ],
        "parent": _parent(status.instance_id),
    }


_HOST_PREFIX = re.compile(r"^Orchestrator function '[^']*' failed: ")
_TYPED = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Failed|Failure|Exit|Interrupt)): (.*)$", re.DOTALL)
MAX_ERROR_MESSAGE = 2000


def unexpected_failure(output: Any) -> RunError:
    """A failure the run did not record itself (the orchestrator raised something unforeseen), as callers
    see it: the exception's type and message. The host's text goes on with the traceback and server paths;
    operators read that in the log and in the management API's output, callers never do."""
    text = _HOST_PREFIX.sub("", str(output if output is not None else "the orchestration failed"))
    # Hosts join a failure's reason and its details (the traceback) with " \n ", or start it on a line.
    head = text.split(" \n ", 1)[0].split("\nTraceback (most recent call last)", 1)[0]
    head = head.split("Traceback (most recent call last)", 1)[0].strip() or "the orchestration failed"
    typed = _TYPED.match(head)
    kind, message = (
        (typed.group(1).rsplit(".", 1)[-1], typed.group(2)) if typed else ("OrchestrationFailed", head)
    )
    return RunError(type=kind, message=message[:MAX_ERROR_MESSAGE])


def duration_ms(status: InstanceStatus, runtime: str | None) -> float | None:
    """A finished run's duration (None while it runs: it is still growing), to the millisecond: from the
    start and end the orchestrator recorded in its status, else the status API's created and updated times
    (whole seconds on Azure and devhost alike: a run that was terminated, or older than those fields)."""
    if runtime not in FINISHED:
        return None
    summary = RunStatus.read(status.custom_status)
    if summary is not None and summary.started_at is not None and summary.ended_at is not None:
        return _ms(summary.started_at, summary.ended_at)
    if not status.created or not status.updated:
        return None
    return _ms(status.created, status.updated)


def run_duration_ms(
    status: InstanceStatus, runtime: str | None, run: RunSnapshot | None, events: Sequence[HistoryEvent]
) -> float | None:
    """A finished run's duration from its history (the run's start, carried across continue-as-new, to its
    end event), which keeps sub-second times on every backend; else as the runs list says it."""
    if runtime not in FINISHED:
        return None
    ended = next((e.timestamp for e in reversed(events) if e.type in _ENDS and e.timestamp), None)
    if run is not None and ended is not None:
        started = run.started.trail_started_at() or run.execution_started
        return _ms(started, ended)
    return duration_ms(status, runtime)


_ENDS = ("ExecutionCompleted", "ExecutionTerminated", "ExecutionFailed")


def _ms(start: datetime, end: datetime) -> float:
    return round(max((end - start).total_seconds(), 0.0) * 1000, 1)


def _parent(instance_id: str | None) -> dict[str, Any] | None:
    parent = parent_of(instance_id)
    return parent.model_dump() if parent is not None else None


def run_summary(status: InstanceStatus) -> dict[str, Any]:
    runtime = status.runtime
    summary = RunStatus.read(status.custom_status)
    return {
        "instanceId": status.instance_id,
        "workflow": status.name,
        "runtimeStatus": runtime,
        "phase": str(runtime).lower() if runtime in FINISHED else (summary.phase if summary else None),
        "superstep": summary.superstep if summary else 0,
        "pendingApprovals": 0 if runtime in FINISHED or summary is None else summary.approvals_count,
        "createdTime": status.created.isoformat() if status.created else None,
        "lastUpdatedTime": status.updated.isoformat() if status.updated else None,
        "durationMs": duration_ms(status, runtime),
        "parent": _parent(status.instance_id),
    }
