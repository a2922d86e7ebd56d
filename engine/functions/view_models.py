"""The JSON of the run view and the runs lists, as OpenAPI documents it.

The handlers build these answers as plain dicts (``run_view.py``); these models are their published shape,
and ``tests/dashboard/test_serving.py`` validates real answers (devhost, real runs) against them so the
two never drift.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine.core.run_state import ClosedApproval, RunError
from engine.functions.lineage import RunParent
from engine.functions.timeline_model import Timeline

PARENT = "a sub-workflow run: the run that started it (null for a run started on its own)"


class _Answer(BaseModel):
    # Field names are the API's JSON names (camelCase, as Durable Functions' own status answers spell them).
    model_config = ConfigDict(extra="forbid")


class RunSummary(_Answer):
    """One run in a runs list."""

    instanceId: str
    workflow: str | None
    runtimeStatus: str | None
    phase: str | None
    superstep: int
    pendingApprovals: int
    createdTime: str | None
    lastUpdatedTime: str | None
    durationMs: float | None = Field(description="a finished run's duration; null while it runs")
    runUri: str
    parent: RunParent | None = Field(default=None, description=PARENT)


class RunsPage(_Answer):
    """One page of a runs list: its runs, how many there are in all, and where the page starts."""

    runs: list[RunSummary]
    total: int
    skip: int
    top: int


class ChildRun(_Answer):
    """A sub-workflow run this run started."""

    workflow: str
    instanceId: str
    runtimeStatus: str | None
    runUri: str
    pendingApprovals: int = Field(description="its open approvals (listed in the parent's pendingApprovals)")


class MapBatch(_Answer):
    """One batch of a map: the items of one list its source sent."""

    batch: str = Field(description="the batch id: the map's index among the workflow's maps, a dot, a count")
    total: int
    done: int
    running: int = Field(
        description="executing now, or between attempts (a retry follows once its wave has finished)"
    )
    failed: int = Field(description="failed for good (an ItemFailed under on_item_error=collect)")
    waiting: int = Field(
        description="not started: waiting for a slot under max_parallel, or for a person (approvals); once "
        "the run has finished, the items it never finished"
    )
    approvals: int = Field(description="of the waiting items, those whose approval waits for a person")
    collected: bool = Field(description="every item has delivered and the list went to the collector")


class MapProgress(_Answer):
    """A map of the workflow (``add_map``) and how far its items got."""

    node: str = Field(description="the per-item node")
    source: str
    collect: str
    max_parallel: int | None
    on_item_error: str
    total: int = Field(description="items of the batches still gathering, else of the latest batch listed")
    done: int
    running: int
    failed: int
    waiting: int
    approvals: int
    batches_begun: int = Field(
        description="batches this map has begun in the whole run (lists of no items "
        "go straight to the collector and are not counted)"
    )
    batches: list[MapBatch] = Field(
        description="the batches still gathering, and those collected in the current execution (a batch "
        "collected before a continue-as-new is only counted), oldest first"
    )


class ApprovalOwner(_Answer):
    """The sub-workflow run an approval shown in a parent's view belongs to (answer it there)."""

    workflow: str
    instanceId: str
    runUri: str


class ItemTag(_Answer):
    """A map item: its batch and its index in that batch."""

    batch: str
    index: int


class PendingApprovalEntry(_Answer):
    """A pending approval request as people read it (``run_view.approval_entry``): in a run view's
    ``pendingApprovals``, and answered by ``GET .../approvals/{requestId}``."""

    request_id: str
    approval_id: str
    event_name: str
    requested_at: str
    deadline: str | None
    approvers: list[str]
    escalated_from: str | None
    superstep: int
    request: Any = Field(description="the request data, as JSON")
    response_schema: dict[str, Any] = Field(description="the JSON schema an answer must match")
    description: str
    respond_uri: str = Field(description="POST the answer here (no token: links are issued on purpose)")
    links_uri: str
    can_answer: bool = Field(description="whether the caller may answer it")
    item: ItemTag | None = Field(description="asked once per item of a map batch: which one")
    partition: str | None = Field(
        default=None, description="the map partition that asked it (an SDK's raise_event names it)"
    )
    run: ApprovalOwner | None = Field(default=None, description="asked inside this sub-workflow run")
    step_orchestration: str | None = Field(
        default=None,
        description="asked by an agent step before a tool call: the step's orchestration, which waits for "
        "the answer (an SDK's raise_event names it)",
    )


class RunView(_Answer):
    """The workflow view of one run."""

    workflow: str
    instanceId: str
    runtimeStatus: str | None
    phase: str
    createdTime: str | None
    lastUpdatedTime: str | None
    durationMs: float | None = Field(description="a finished run's duration; null while it runs")
    input: Any = Field(description="the run's input, as started (carried across continue-as-new)")
    version: str | None
    fingerprint: str | None
    superstep: int
    executors: dict[str, str] = Field(description="each node: pending, running, done, failed or waiting")
    running: list[str]
    pendingApprovals: list[PendingApprovalEntry]
    pendingApprovalsTotal: int
    approvalsSkip: int
    approvalsTop: int
    closedApprovals: list[ClosedApproval] = Field(
        description="the latest 100 decided or timed-out approvals: who, when, how (via) and the answer"
    )
    closedApprovalsTotal: int
    outputs: Any
    error: RunError | None
    maps: list[MapProgress] = Field(
        default_factory=list, description="each map of the workflow and the progress of its items"
    )
    versionProblem: str | None = None
    children: list[ChildRun] = Field(
        default_factory=list,
        description="sub-workflow runs it started (this execution), with links: the first 100, whose open "
        "approvals are listed in pendingApprovals",
    )
    childrenTotal: int = Field(default=0, description="every sub-workflow run it started (this execution)")
    parent: RunParent | None = Field(default=None, description=PARENT)
    timeline: Timeline | None = Field(default=None, description="with ?timeline=true")
