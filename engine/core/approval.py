"""The human approval node: publishes a request, waits for a validated response, emits the outcome."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic_core import to_jsonable_python

from engine.core.executor import Node

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class ApprovalDecision(BaseModel):
    """A ready-made response model: approve or reject, with an optional comment."""

    approved: bool = Field(description="true to approve, false to reject")
    comment: str = Field(default="", max_length=2000)


class ApprovalOutcome(BaseModel, Generic[Req, Resp]):
    """What an approval node emits: the request it published and the answer it got.

    Emitting the request beside the response keeps the data the approver decided on available
    downstream (an order id, an amount) without making the approver type it again.
    """

    approval_id: str
    request_id: str
    request: Req
    response: Resp
    decided_by: str | None = None
    decided_at: datetime | None = None
    via: Literal["endpoint", "event", "timeout", "runner"] = "runner"
    timed_out: bool = False


def was_approved(outcome: ApprovalOutcome[Any, ApprovalDecision]) -> bool:
    """Edge condition: the person approved (for approvals answered with ``ApprovalDecision``)."""
    return outcome.response.approved


def was_rejected(outcome: ApprovalOutcome[Any, ApprovalDecision]) -> bool:
    """Edge condition: the person rejected (for approvals answered with ``ApprovalDecision``)."""
    return not outcome.response.approved


class OnTimeout(BaseModel):
    """What an approval does when its deadline passes unanswered."""

    model_config = ConfigDict(frozen=True)

    action: Literal["default", "fail", "escalate"]
    response: Any = None
    escalate_to: str | None = None


def respond_with(response: Any) -> OnTimeout:
    """On expiry, carry on as if this response had been given."""
    return OnTimeout(action="default", response=response)


def fail_run() -> OnTimeout:
    """On expiry, fail the run."""
    return OnTimeout(action="fail")


def escalate_to(approval: Approval[Any, Any] | str) -> OnTimeout:
    """On expiry, ask another approval node the same question."""
    target = approval if isinstance(approval, str) else approval.id
    return OnTimeout(action="escalate", escalate_to=target)


class Approval(Node, Generic[Req, Resp]):
    """A built-in node that waits for a person.

    It receives a ``request`` model, publishes a pending approval (request id, data, the JSON schema of
    the expected ``response`` model, a deadline), and emits an ``ApprovalOutcome[request, response]``.
    """

    kind: ClassVar[str] = "approval"

    def __init__(
        self,
        id: str,
        *,
        request: type[Req] | Any,
        response: type[Resp] | Any = ApprovalDecision,
        timeout: timedelta | None = None,
        on_timeout: OnTimeout | None = None,
        approvers: list[str] | None = None,
        description: str = "",
    ) -> None:
        if timeout is not None and timeout <= timedelta(0):
            raise ValueError(f"approval {id!r}: timeout must be positive")
        if on_timeout is not None and timeout is None:
            raise ValueError(f"approval {id!r}: on_timeout needs a timeout")
        self.id = id
        self.request_type = request
        self.response_type = response
        self.timeout = timeout
        self.on_timeout = on_timeout or fail_run()
        self.approvers = list(approvers) if approvers else []
        self.description = description
        self.retry = None
        self._init_types(request, ApprovalOutcome[request, response])  # type: ignore[valid-type]
        self.response_adapter: TypeAdapter[Any] = TypeAdapter(response)
        self._response_schema: dict[str, Any] | None = None
        if self.on_timeout.action == "default":
            # Fail at definition time, not at the deadline, when the default answer is not a valid one.
            self.default_response = self.response_adapter.validate_python(self.on_timeout.response)

    def parse_answer(self, answer: Any) -> Resp:
        """A person's answer, validated as a decision should be: pydantic's strict JSON mode.

        No coercion (``"yes"`` or ``1`` is not ``true``) and no unknown fields; types whose JSON form is
        a string (datetimes, enums, UUIDs) are still read from it. Raises pydantic's ValidationError.
        """
        text = json.dumps(to_jsonable_python(answer))
        return self.response_adapter.validate_json(text, strict=True, extra="forbid")  # type: ignore[no-any-return]

    def response_schema(self) -> dict[str, Any]:
        """The JSON schema an answer must meet, generated once per approval node."""
        # Every request of the approval publishes it, and a durable run builds each request again on
        # every replay: generating it once per node keeps a map of many approvals from spending its
        # replays in pydantic's schema generator. Shared by every request: read it, never change it.
        if self._response_schema is None:
            self._response_schema = self.response_adapter.json_schema()
        return self._response_schema

    def deadline_after(self, now: datetime) -> datetime | None:
        """When a request asked at ``now`` expires; None without a timeout."""
        return now + self.timeout if self.timeout is not None else None


def request_id_for(approval_id: str, superstep: int, ordinal: int) -> str:
    """Deterministic per run: the same approval asked in a later superstep gets a new id."""
    return f"{approval_id}-s{superstep}-{ordinal}"


def step_request_id(approval_id: str, superstep: int, ordinal: int, call_key: str) -> str:
    """A request a looping step asks before one of its calls: deterministic per run (the step's superstep
    and ordinal, and the call's key within the step)."""
    return f"{approval_id}-s{superstep}-{ordinal}-{call_key}"


def event_name_for(request_id: str) -> str:
    """The external event a request's answer is raised as."""
    return f"approval-{request_id}"
