"""An agent step's state between its calls, as JSON: the conversation, the tools offered, the round of
tool calls in hand, and the usage so far. ``engine.agents.loop`` moves it from call to call."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ToolSpec(BaseModel):
    """A tool as the model is offered it, and where it comes from."""

    name: str
    description: str
    parameters: dict[str, Any]  # the JSON schema sent to the model
    strict: bool = True
    source: Literal["function", "mcp"] = "function"
    server: int | None = None  # an MCP tool: which of the agent's servers offers it
    input_schema: dict[str, Any] | None = None  # an MCP tool: the server's own schema, to check arguments
    optional: list[str] = Field(default_factory=list)  # an MCP tool: what a null argument leaves out

    def definition(self) -> dict[str, Any]:
        """The entry of the request's ``tools`` list."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
                "strict": self.strict,
            },
        }


class ToolCall(BaseModel):
    """One tool call of the round in hand: the model's, and what became of it."""

    key: str  # t<round>.<index>: the call's key in the step (its idempotency key derives from it)
    call_id: str  # the model's id for it, which the answer names
    name: str
    arguments: str  # as the model wrote them
    parsed: dict[str, Any] | None = None  # validated, when they were
    gate: str | None = None  # the approval asked first, if any
    status: Literal["ask", "run", "done"] = "run"
    result: str | None = None  # what the model reads back


class Usage(BaseModel):
    """Tokens and latency over the step's model calls (the step's ``agent`` annotation)."""

    model: str | None = None
    provider: str | None = None
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    latency_ms: list[int] = Field(default_factory=list)
    tool_calls: int = 0

    def annotation(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "provider": self.provider,
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "latency_ms": sum(self.latency_ms),
            "call_latency_ms": list(self.latency_ms),
            "tool_calls": self.tool_calls,
        }


class Failure(BaseModel):
    """Why the step failed for good, as the agent's error types say it (see ``engine.agents.errors``)."""

    kind: Literal["output", "tool_loop", "configuration"]
    detail: str
    output: str | None = None


class AgentState(BaseModel):
    """Everything an agent step knows between two calls."""

    messages: list[dict[str, Any]]
    tools: list[ToolSpec] | None = None  # None until the MCP servers' tools are listed
    model_calls: int = 0
    rounds: int = 0
    round: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    output: Any = None
    done: bool = False
    failure: Failure | None = None


class ModelReply(BaseModel):
    """What a model call returns to the loop (the ``value`` of its outcome)."""

    content: str | None = None
    refusal: str | None = None
    tool_calls: list[dict[str, str]] = Field(default_factory=list)  # id, name, arguments
    finish_reason: str | None = None
    model: str
    provider: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    latency_ms: int = 0


__all__ = ["AgentState", "Failure", "ModelReply", "ToolCall", "ToolSpec", "Usage"]
