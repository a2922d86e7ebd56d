"""The JSON of the workflow API's other answers, as OpenAPI documents them (the run view and the runs
pages are in ``view_models.py``, the feed in ``feed.py``).

The handlers build these answers as plain dicts; these models are their published shape, and the
schemathesis contract test (``tests/functions/test_schemathesis.py``) checks every real answer against the
document, so the two never drift.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Answer(BaseModel):
    # Field names are the API's JSON names, as the handlers spell them.
    model_config = ConfigDict(extra="forbid")


class ApprovalInfo(_Answer):
    """An approval node of a workflow: its id, its description, and the schema of its answers."""

    id: str
    description: str
    response_schema: dict[str, Any] = Field(description="the JSON schema an answer must match")


class WorkflowInfo(_Answer):
    """A workflow the app serves (its newest version): its graph, input schema, approvals, and start URL."""

    name: str
    version: str
    fingerprint: str
    versions: list[str] = Field(description="every version the app serves, oldest first")
    description: str
    start: str = Field(description="the start node")
    input_schema: dict[str, Any] = Field(description="the JSON schema of a run's input")
    mermaid: str
    graph: dict[str, Any] = Field(description="nodes and edges, for drawing")
    approvals: list[ApprovalInfo]
    start_uri: str


class WorkflowList(_Answer):
    """Every workflow the app serves."""

    workflows: list[WorkflowInfo]


class StartedRun(BaseModel):
    """The run's links: the Durable Functions management links of the SDK, and the workflow API's own."""

    # The management links are the SDK's (get_client_response_links): a newer SDK may add one.
    model_config = ConfigDict(extra="allow")

    id: str = Field(description="the run's instance id")
    runUri: str = Field(description="the run view")
    statusQueryGetUri: str | None = None
    sendEventPostUri: str | None = None
    terminatePostUri: str | None = None
    rewindPostUri: str | None = None
    purgeHistoryDeleteUri: str | None = None
    restartPostUri: str | None = None
    suspendPostUri: str | None = None
    resumePostUri: str | None = None


class VersionInfo(_Answer):
    """One version of a workflow the app serves, and how many runs on it have not finished."""

    version: str
    fingerprint: str
    unfinished_runs: int


class VersionList(_Answer):
    """The versions of one workflow the app serves, and the unfinished runs on each."""

    workflow: str
    newest: str
    versions: list[VersionInfo] = Field(description="oldest first")
    unfinished_runs_elsewhere: dict[str, int] = Field(
        description="unfinished runs on a version this app does not serve (or on none: 'None')"
    )


class AnswerAccepted(_Answer):
    """An answer sent to a run: whether it decided, or the run view to wait on until it is taken in."""

    accepted: bool
    taken: bool | None = Field(description="true: this answer decided; null: not taken in yet (see waitUri)")
    answerId: str
    requestId: str
    instanceId: str
    decidedBy: str | None
    waitUri: str = Field(description="the run view once this answer has been taken in")


class IssuedLink(_Answer):
    """A respond link issued for one approval request, for one person, until it expires."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    respond_uri: str = Field(description="the approval, with the link's token")
    for_: str | None = Field(alias="for", description="the person the link names")
    expires: str


class RunPurged(_Answer):
    """A finished run purged: its history, its map partitions' and agent steps' orchestrations and its
    streams are gone."""

    purged: bool
    instanceId: str
    streamChunks: int = Field(description="how many chunks of its steps' streams were deleted with it")
    innerOrchestrations: int = Field(
        default=0,
        description="how many of its own orchestrations (map partitions, agent steps) were purged with it",
    )


class RunAccepted(_Answer):
    """Terminate or rewind accepted: the run changes soon."""

    accepted: bool
    instanceId: str
    waitUri: str = Field(description="the run view once the run has finished")
