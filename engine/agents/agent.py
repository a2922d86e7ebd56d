"""The agent executor: instructions + typed input -> an LLM (with tools) -> a validated output model.

An agent step is a loop of calls (``engine.core.step_loop``): list the MCP servers' tools, call the model,
call the tools it asks for (a person first, for a tool marked ``ask_before``), call the model again, until
it answers with JSON that validates against the output model. The decisions are a deterministic state
machine (``engine.agents.loop``); the calls are ``engine.agents.calls``. The runners drive it: in memory
the calls are made in-process, durably each is an activity whose outcome the history keeps, so a crash
after a tool call never repeats it and a replay never calls the model again. Each call is retried on its
own under its retry policy (the agent's ``retry``, honouring a server's Retry-After; a tool's or a
server's own ``retry`` if given).

The input is rendered into the prompt (``prompt.py``); the answer is asked for with a strict JSON-schema
response format made from the output model (``schema.py``). Token usage and latency end up in the
step's ``agent`` annotation. The provider is resolved at each model call, not at construction, so
importing a workflow module never needs keys; without any provider configured the offline model answers
(``offline.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from pydantic import BaseModel

from engine.agents.asks import AskBefore
from engine.agents.calls import ModelSettings, list_tools, model_call, tool_call
from engine.agents.errors import (
    NON_RETRYABLE,
    AgentConfigurationError,
    AgentOutputError,
    AgentRef,
    AgentToolLoopError,
)
from engine.agents.loop import LIST_TOOLS, MODEL, TOOL, AgentLoop
from engine.agents.loop_state import AgentState
from engine.agents.mcp import McpServer
from engine.agents.prompt import Render, chat_messages, render_json
from engine.agents.providers import Provider
from engine.agents.schema import schema_name, strict_json_schema
from engine.agents.tools import Tool, ToolFunction, as_tool
from engine.core.approval import Approval
from engine.core.execution import run_call
from engine.core.executor import StepContext
from engine.core.loop_calls import AskDecision, CallOutcome, CallResult, LoopCall, Turn, call_idempotency_key
from engine.core.retry import RetryPolicy
from engine.core.step_loop import Asks, Calls, LoopEnd, LoopExecutor, Pause, drive

DEFAULT_RETRY = RetryPolicy(max_attempts=3, first_interval=timedelta(seconds=1))

ToolSource = Tool | ToolFunction | McpServer | AskBefore


class Agent(LoopExecutor):
    """An executor whose work is done by a language model.

    ``Agent("triage", instructions="...", input_type=Ticket, output_type=Triage, tools=[lookup_order])``

    - ``input_type``: any type pydantic handles; rendered into the prompt by ``render_input``.
    - ``output_type``: a pydantic model; the answer must validate against it.
    - ``tools``: functions (sync or async) or ``Tool``s; MCP servers (``mcp_stdio``, ``mcp_http``), whose
      tools are listed once per step; ``ask_before(tool, approver=...)`` marks (a function, or a tool's
      name) whose calls a person approves first. At most ``max_tool_rounds`` rounds per step.
    - ``model``: model (OpenAI, compatible server) or deployment (Azure) name; default from the provider
      (``OPENAI_MODEL`` / ``AZURE_OPENAI_DEPLOYMENT``).
    - ``temperature``: sampling temperature; ``None`` leaves it out (reasoning models refuse it).
    - ``timeout``: the budget of each model call.
    - ``retry``: each call's retry policy (default ``DEFAULT_RETRY``); agent failures that a retry cannot
      fix are added to its ``non_retryable``.
    - ``provider``: an ``OpenAIProvider`` / ``AzureOpenAIProvider`` / ``OfflineProvider``; default: from the
      environment at each call.
    - ``render``: replaces ``render_input`` (message -> user prompt text).
    """

    kind: ClassVar[str] = "agent"

    def __init__(
        self,
        id: str,
        *,
        instructions: str,
        input_type: Any,
        output_type: type[BaseModel],
        tools: Sequence[ToolSource] = (),
        model: str | None = None,
        temperature: float | None = 0.2,
        timeout: timedelta = timedelta(seconds=60),
        max_tool_rounds: int = 8,
        retry: RetryPolicy | None = None,
        provider: Provider | None = None,
        render: Render | None = None,
        description: str | None = None,
    ) -> None:
        if not (isinstance(output_type, type) and issubclass(output_type, BaseModel)):
            raise TypeError(f"agent {id!r}: output_type must be a pydantic model, not {output_type!r}")
        if temperature is not None and not 0 <= temperature <= 2:
            raise ValueError(f"agent {id!r}: temperature must be between 0 and 2")
        if timeout <= timedelta(0):
            raise ValueError(f"agent {id!r}: timeout must be positive")
        if max_tool_rounds < 0:
            raise ValueError(f"agent {id!r}: max_tool_rounds must not be negative")
        self.id = id
        self.description = description if description is not None else instructions.strip().split("\n")[0]
        policy = retry or self.retry or DEFAULT_RETRY
        extra = tuple(t for t in NON_RETRYABLE if t not in policy.non_retryable)
        self.retry = policy.model_copy(update={"non_retryable": policy.non_retryable + extra})
        self._init_types(input_type, output_type)
        self.is_async = True
        self.instructions = instructions
        functions, self.servers, self.gates = _sources(id, tools)
        self.tools = list(functions.values())
        self.model = model
        self.temperature = temperature
        self.timeout = timeout
        self.max_tool_rounds = max_tool_rounds
        self.provider = provider
        self._render = render
        self._approvals = {a.id: a for gate in self.gates for a in gate.approvals(id)}
        # Built now so an output model strict mode cannot express fails at import, not at the first call.
        self.response_format: dict[str, Any] = {
            "type": "json_schema",
            "json_schema": {
                "name": schema_name(output_type),
                "schema": strict_json_schema(output_type),
                "strict": True,
            },
        }
        self.machine = AgentLoop(
            id,
            functions=functions,
            servers=self.servers,
            gates={g.tool_name: f"{id}.{g.tool_name}" for g in self.gates},
            output_type=output_type,
            max_tool_rounds=max_tool_rounds,
            model=model,
        )
        self.settings = ModelSettings(
            id,
            model=model,
            temperature=temperature,
            timeout=timeout,
            response_format=self.response_format,
            output_type=output_type,
        )

    # -- prompt (override points) -------------------------------------------------------------------

    def render_input(self, message: Any) -> str:
        """The user prompt for ``message``: ``render=`` if given, else JSON under a heading (prompt.py)."""
        if self._render is not None:
            return self._render(message)
        return render_json(message, self.input_adapter, self.input_type)

    def build_messages(self, message: Any) -> list[dict[str, Any]]:
        """The conversation sent for ``message``: the instructions, then the rendered input."""
        return chat_messages(self.instructions, self.render_input(message))

    # -- the loop (engine.core.step_loop) -----------------------------------------------------------

    def loop_start(self, message: Any, step_key: str) -> dict[str, Any]:
        message = self.input_adapter.validate_python(message)
        return self.machine.start(self.build_messages(message)).model_dump(mode="json")

    def loop_turn(self, state: dict[str, Any]) -> Turn:
        return self.machine.turn(AgentState.model_validate(state))

    def take_calls(self, state: dict[str, Any], outcomes: Sequence[CallOutcome]) -> dict[str, Any]:
        return self.machine.take_calls(AgentState.model_validate(state), outcomes).model_dump(mode="json")

    def take_decisions(self, state: dict[str, Any], decisions: Sequence[AskDecision]) -> dict[str, Any]:
        return self.machine.take_decisions(AgentState.model_validate(state), decisions).model_dump(
            mode="json"
        )

    async def loop_call(self, call: LoopCall, ctx: StepContext) -> CallResult:
        payload = call.payload or {}
        if call.kind == MODEL:
            return await model_call(self.settings, self.provider, payload, ctx)
        if call.kind == TOOL:
            functions = {t.name: t for t in self.tools}
            return await tool_call(self.id, payload, ctx, functions, self.servers)
        if call.kind == LIST_TOOLS:
            return await list_tools(self.servers[int(payload["server"])])
        raise AgentConfigurationError(AgentRef(self.id, self.model), f"unknown call kind {call.kind!r}")

    def call_retry(self, call: LoopCall) -> RetryPolicy | None:
        payload = call.payload if isinstance(call.payload, dict) else {}
        own: RetryPolicy | None = None
        if call.kind == TOOL and payload.get("source") == "function":
            own = next((t.retry for t in self.tools if t.name == call.name), None)
        elif call.kind in (TOOL, LIST_TOOLS) and payload.get("server") is not None:
            own = self.servers[int(payload["server"])].retry
        return own or self.retry

    def describe_call(self, call: LoopCall) -> dict[str, Any]:
        payload = call.payload if isinstance(call.payload, dict) else {}
        if call.kind == TOOL:
            return {"arguments": payload.get("arguments")}
        if call.kind == MODEL:
            return {"messages": len(payload.get("messages") or [])}
        return {}

    def loop_annotations(self, state: dict[str, Any]) -> dict[str, Any]:
        usage = AgentState.model_validate(state).usage
        annotation = usage.annotation()
        annotation["model"] = annotation["model"] or self.model
        return {"agent": annotation}

    def step_approvals(self) -> Mapping[str, Approval[Any, Any]]:
        return self._approvals

    # -- called directly, without a runner ----------------------------------------------------------

    async def handle(self, message: Any, ctx: StepContext) -> BaseModel:
        """Run the whole loop here (each call retried under its policy, waiting in this process); raises
        what the step failed with. Runners do not call this: they drive the loop themselves."""
        driver = drive(self, self.loop_start(message, ctx.idempotency_key))
        effect = next(driver)
        try:
            while True:
                if isinstance(effect, Calls):
                    effect = driver.send(
                        await asyncio.gather(*(self._call(c, a, ctx) for c, a in effect.calls))
                    )
                elif isinstance(effect, Pause):
                    await asyncio.sleep(effect.delay.total_seconds())
                    effect = driver.send(None)
                else:
                    assert isinstance(effect, Asks)
                    raise AgentConfigurationError(
                        AgentRef(self.id, self.model),
                        "a tool marked ask_before needs a runner to ask a person: run it in a workflow",
                    )
        except StopIteration as stopped:
            end: LoopEnd = stopped.value
        ctx.annotate(**end.annotations)
        if end.ok:
            return self.output_type.model_validate(end.output)
        raise self._exception(end)

    async def _call(self, call: LoopCall, attempt: int, ctx: StepContext) -> CallOutcome:
        own = StepContext(
            workflow=ctx.workflow,
            instance_id=ctx.instance_id,
            executor_id=ctx.executor_id,
            attempt=attempt,
            idempotency_key=call_idempotency_key(ctx.idempotency_key, call.key),
            logger=ctx.logger,
        )
        return await run_call(self, call, attempt, own)

    def _exception(self, end: LoopEnd) -> Exception:
        """The exception the loop failed with: a call's own, or the agent error its state records."""
        if end.failed_call is not None and isinstance(end.failed_call.raised, Exception):
            return end.failed_call.raised
        state = AgentState.model_validate(end.state)
        failure = state.failure
        ref = AgentRef(self.id, state.usage.model or self.model)
        if failure is None:
            return AgentOutputError(ref, str(end.error))
        if failure.kind == "tool_loop":
            return AgentToolLoopError(ref, failure.detail)
        if failure.kind == "configuration":
            return AgentConfigurationError(ref, failure.detail)
        return AgentOutputError(ref, failure.detail, output=failure.output)


def _sources(
    agent_id: str, tools: Sequence[ToolSource]
) -> tuple[dict[str, Tool], list[McpServer], list[AskBefore]]:
    """The agent's function tools (by name), MCP servers and ``ask_before`` marks, checked."""
    functions: dict[str, Tool] = {}
    servers: list[McpServer] = []
    gates: list[AskBefore] = []
    for source in tools:
        if isinstance(source, McpServer):
            servers.append(source)
            continue
        if isinstance(source, AskBefore):
            gates.append(source)
            if isinstance(source.target, str):
                continue
            source = source.target
        made = as_tool(source)
        if made.name in functions:
            raise ValueError(f"agent {agent_id!r}: tool names must be unique, got {made.name!r} twice")
        functions[made.name] = made
    asked = [g.tool_name for g in gates]
    if len(set(asked)) != len(asked):
        raise ValueError(f"agent {agent_id!r}: one ask_before per tool, got {asked}")
    if not servers:
        unknown = [name for name in asked if name not in functions]
        if unknown:
            raise ValueError(
                f"agent {agent_id!r}: ask_before names tool {unknown[0]!r}, which it does not offer"
            )
    return functions, servers, gates
