"""The JSON checkpoint of a run: everything needed to continue it in another process."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from engine.core.loop_calls import AskDecision, LoopAsk
from engine.core.mapping import GatherJSON, ItemTagJSON
from engine.core.routing import DeliveryJSON, EmissionJSON
from engine.core.run_error import RunError

ANSWER_KEPT_CHARS = 2000
RunStatus = Literal["running", "waiting_for_approval", "completed", "failed"]


class PendingApproval(BaseModel):
    """A question published to people, waiting for an answer."""

    request_id: str
    approval_id: str
    event_name: str
    request: Any = Field(description="the request data, as JSON")
    response_schema: dict[str, Any]
    requested_at: datetime
    deadline: datetime | None = None
    approvers: list[str] = Field(default_factory=list)
    superstep: int
    escalated_from: str | None = None
    item: ItemTagJSON | None = None  # asked once per item of a map batch: which one
    # The sub-workflow run that asks, for a request shown in a parent run (its request_id is then
    # "<run>/<the child's request id>"); None for the run's own requests.
    run: str | None = None


class ClosedApproval(BaseModel):
    """How an approval request closed: answered (by whom, through which path) or timed out."""

    request_id: str
    approval_id: str
    outcome: Literal["answered", "timed_out"]
    decided_by: str | None = None
    via: str
    at: datetime
    requested_at: datetime | None = None  # when it was asked (None: closed before this was kept)
    answer_id: str | None = None  # the id the endpoint gave the answer that was taken
    link: str | None = None  # the nonce of the respond link that answer came through, if any
    # The answer taken (JSON), so people can read what was decided; carried in every checkpoint, so an
    # answer over ANSWER_KEPT_CHARS is left out (answer_cut) rather than carried on and on.
    answer: Any = None
    answer_cut: bool = False
    # When the run learnt of it, if later than ``at``: a map partition closes its items' requests and
    # reports them when it is done (the event feed gives it out then, so no cursor passes it unseen).
    reported_at: datetime | None = None
    item: ItemTagJSON | None = None  # asked once per item of a map batch: which one

    @staticmethod
    def kept(answer: Any) -> tuple[Any, bool]:
        """The answer as a closed approval keeps it: itself, or None and True when it is too long."""
        if answer is None:
            return None, False
        text = json.dumps(answer, separators=(",", ":"), ensure_ascii=False, default=str)
        return (None, True) if len(text) > ANSWER_KEPT_CHARS else (answer, False)


class RunState(BaseModel):
    """A run between supersteps. JSON through and through, so it can be stored and resumed anywhere."""

    workflow: str
    instance_id: str
    superstep: int = 0
    status: RunStatus = "running"
    deliveries: list[DeliveryJSON] = Field(default_factory=list)
    fan_in: dict[str, dict[str, list[Any]]] = Field(default_factory=dict)
    # Map batches still gathering their items' outputs, and how many batches each map has begun.
    maps: dict[str, GatherJSON] = Field(default_factory=dict)
    map_batches: dict[str, int] = Field(default_factory=dict)
    outputs: list[EmissionJSON] = Field(default_factory=list)
    approvals: list[PendingApproval] = Field(default_factory=list)
    # Sub-workflow runs paused for a person (in memory; durably each is a run of its own).
    children: list[ChildRun] = Field(default_factory=list)
    # Looping steps (agents) paused for a person before one of their calls (in memory; durably each is
    # an orchestration of its own).
    loops: list[PausedLoop] = Field(default_factory=list)
    error: RunError | None = None

    def approval(self, request_id: str) -> PendingApproval | None:
        """The pending approval with this request id, if the run has one."""
        return next((a for a in self.approvals if a.request_id == request_id), None)


class ChildRun(BaseModel):
    """A sub-workflow step of a paused in-memory run: the child's own paused state, and where its output
    goes once it completes."""

    node_id: str
    item: ItemTagJSON | None = None
    state: RunState


class PausedLoop(BaseModel):
    """A looping step of a paused in-memory run, waiting for people before some of its calls: where it
    stands (its state at the question), what it asked, and what has been decided so far."""

    node_id: str
    superstep: int
    ordinal: int
    item: ItemTagJSON | None = None
    state: dict[str, Any]
    asks: list[LoopAsk]
    requests: dict[str, str] = Field(default_factory=dict)  # request id -> the call key it asks about
    decided: dict[str, AskDecision] = Field(default_factory=dict)  # by call key

    @property
    def ready(self) -> bool:
        """Every question has its decision: the step can go on."""
        return all(ask.key in self.decided for ask in self.asks)


RunState.model_rebuild()
