"""Approval before a tool: ``ask_before(refund, approver="manager", timeout=timedelta(hours=4))``.

A tool marked so is not called when the model asks for it: a person is asked first, with the tool's name
and the arguments the model chose, through the same machinery as every approval of a workflow (an
``engine.core.approval.Approval`` the agent owns: signed answers, respond links, the approver's identity, a
deadline and what happens at it, escalation). Approved, the tool runs; refused (or not decided in time,
by default), the model is told it was refused, and by whom, and goes on without it.

The target is a function or ``Tool`` (offered by this mark, asked about first), or the name of a tool
another source offers (an MCP server's ``"refund"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from engine.agents.tools import Tool, ToolFunction, as_tool
from engine.core.approval import Approval, ApprovalDecision, OnTimeout, escalate_to, respond_with


class ToolCallRequest(BaseModel):
    """What the person asked before a tool reads: which agent wants to call which tool, with what."""

    agent: str
    tool: str
    arguments: dict[str, Any] = Field(description="the arguments the model chose for the call")
    description: str = Field(default="", description="what the tool does, as the model read it")


@dataclass(frozen=True, slots=True)
class AskBefore:
    """A tool (or a tool's name) whose every call a person approves first. Make one with ``ask_before``."""

    target: Tool | str
    approver: str | None
    timeout: timedelta | None
    escalate_to: str | None
    escalation_timeout: timedelta | None
    description: str

    @property
    def tool_name(self) -> str:
        return self.target if isinstance(self.target, str) else self.target.name

    def approvals(self, agent_id: str) -> list[Approval[Any, Any]]:
        """The approvals this mark asks for agent ``agent_id``: the approver's, then the escalation's."""
        first_id = f"{agent_id}.{self.tool_name}"
        about = self.description or f"Approve before agent {agent_id!r} calls tool {self.tool_name!r}."
        refused = respond_with({"approved": False, "comment": "no decision before the deadline"})
        escalation: Approval[Any, Any] | None = None
        on_timeout: OnTimeout | None = refused if self.timeout is not None else None
        if self.escalate_to is not None:
            escalation = Approval(
                f"{first_id}.escalated",
                request=ToolCallRequest,
                response=ApprovalDecision,
                timeout=self.escalation_timeout,
                on_timeout=refused if self.escalation_timeout is not None else None,
                approvers=[self.escalate_to],
                description=f"Escalation: {about}",
            )
            on_timeout = escalate_to(escalation)
        first = Approval(
            first_id,
            request=ToolCallRequest,
            response=ApprovalDecision,
            timeout=self.timeout,
            on_timeout=on_timeout,
            approvers=[self.approver] if self.approver else None,
            description=about,
        )
        return [first] if escalation is None else [first, escalation]


def ask_before(
    target: Tool | ToolFunction | str,
    *,
    approver: str | None = None,
    timeout: timedelta | None = None,
    escalate_to: str | None = None,
    escalation_timeout: timedelta | None = None,
    description: str = "",
) -> AskBefore:
    """Mark a tool so that calling it first waits for a person.

    - ``approver``: the identity that may answer (as for ``Approval(approvers=[...])``); ``None``: anyone
      who may call the workflow API.
    - ``timeout``: how long the person has; unanswered by then, the call is refused (or escalated).
    - ``escalate_to`` / ``escalation_timeout``: at the deadline, ask this identity instead, for so long.
    """
    if timeout is not None and timeout <= timedelta(0):
        raise ValueError("ask_before: timeout must be positive")
    if escalate_to is not None and timeout is None:
        raise ValueError("ask_before: escalate_to needs a timeout (when to escalate)")
    resolved = target if isinstance(target, str) else as_tool(target)
    return AskBefore(resolved, approver, timeout, escalate_to, escalation_timeout, description)


def approved(response: Any) -> bool:
    """Whether an ``ApprovalDecision`` (as JSON) approves."""
    return isinstance(response, dict) and response.get("approved") is True


__all__ = ["AskBefore", "ToolCallRequest", "approved", "ask_before"]
