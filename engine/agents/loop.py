"""An agent step as a deterministic state machine: from one call to the next, written once.

The machine never calls anything: each turn it asks for calls (list an MCP server's tools, call the
model, call tools) or for people (a tool marked ``ask_before``), and takes their outcomes back into its
state (``engine.agents.loop_state.AgentState``, JSON). ``engine.core.step_loop.drive`` runs it: the
in-memory runner makes the calls itself, the durable runner as activities whose results its history
keeps. Every method here is pure, so a replay over recorded outcomes rebuilds the same state.

A round: the model answers with tool calls; each is checked (unknown tool, arguments the schema refuses:
the model is told, as the tool's answer, and may correct itself), a person is asked before the marked
ones, the others (and the approved) are called together, and their answers go back to the model in the
order it asked. ``max_tool_rounds`` bounds the rounds. An answer without tool calls must validate
against the output model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from engine.agents.asks import ToolCallRequest, approved
from engine.agents.loop_state import AgentState, Failure, ModelReply, ToolCall, ToolSpec
from engine.agents.mcp import McpServer
from engine.agents.schema import strict_tool_parameters
from engine.agents.tools import Tool
from engine.core.loop_calls import (
    Ask,
    AskDecision,
    CallOutcome,
    Fail,
    Finish,
    LoopAsk,
    LoopCall,
    Perform,
    Turn,
)
from engine.core.run_error import RunError

MODEL, TOOL, LIST_TOOLS = "model", "tool", "list_tools"


class AgentLoop:
    """The machine for one agent: its tools, gates and output model (the state is passed in and out)."""

    def __init__(
        self,
        agent_id: str,
        *,
        functions: Mapping[str, Tool],
        servers: Sequence[McpServer],
        gates: Mapping[str, str],
        output_type: type[BaseModel],
        max_tool_rounds: int,
        model: str | None,
    ) -> None:
        self.agent_id = agent_id
        self.functions = dict(functions)
        self.servers = list(servers)
        self.gates = dict(gates)  # tool name -> the approval asked before it
        self.output_type = output_type
        self.max_tool_rounds = max_tool_rounds
        self.model = model
        self._specs = self._function_specs()  # the function tools as offered: built once per agent

    # --- where a step starts, and what it does next ---------------------------------------------------

    def start(self, messages: list[dict[str, Any]]) -> AgentState:
        return AgentState(messages=messages, tools=None if self.servers else list(self._specs))

    def turn(self, state: AgentState) -> Turn:
        if state.failure is not None:
            return Fail(self.error(state))
        if state.done:
            return Finish(state.output)
        if state.tools is None:
            return Perform(
                [
                    LoopCall(key=f"l{i}", kind=LIST_TOOLS, name=server.label, payload={"server": i})
                    for i, server in enumerate(self.servers)
                ]
            )
        asks = [c for c in state.round if c.status == "ask"]
        if asks:
            return Ask([self._ask(state, call) for call in asks])
        runs = [c for c in state.round if c.status == "run"]
        if runs:
            return Perform([self._tool_call(state, call) for call in runs])
        payload = {"messages": state.messages, "tools": [t.definition() for t in state.tools]}
        name = self.model or MODEL  # the model resolved at the call is in its outcome (``shown``)
        return Perform([LoopCall(key=f"m{state.model_calls + 1}", kind=MODEL, name=name, payload=payload)])

    def error(self, state: AgentState) -> RunError:
        """The step's error, typed as the agent's errors are (``AgentOutputError``, ...)."""
        failure = state.failure
        assert failure is not None
        kind = {
            "output": "AgentOutputError",
            "tool_loop": "AgentToolLoopError",
            "configuration": "AgentConfigurationError",
        }[failure.kind]
        model = state.usage.model or self.model or "unset"
        message = f"agent {self.agent_id!r} (model {model}): {failure.detail}"
        return RunError(executor_id=self.agent_id, type=kind, message=message)

    # --- taking outcomes in ----------------------------------------------------------------------------

    # take_calls and take_decisions change the state they are given and return it: callers pass one
    # validated afresh from its JSON for the turn (a deep copy per turn was most of the loop's cost).

    def take_calls(self, state: AgentState, outcomes: Sequence[CallOutcome]) -> AgentState:
        listed = [o for o in outcomes if o.kind == LIST_TOOLS]
        if listed:
            self._take_listings(state, listed)
        for outcome in outcomes:
            if outcome.kind == MODEL:
                self._take_reply(state, ModelReply.model_validate(outcome.value))
            elif outcome.kind == TOOL:
                call = next(c for c in state.round if c.key == outcome.key)
                call.status, call.result = "done", str(outcome.value)
        self._close_round(state)
        return state

    def take_decisions(self, state: AgentState, decisions: Sequence[AskDecision]) -> AgentState:
        for decision in decisions:
            call = next(c for c in state.round if c.key == decision.key)
            if approved(decision.response):
                call.status = "run"
            else:
                call.status, call.result = "done", _refusal(call.name, decision)
        self._close_round(state)
        return state

    # --- the pieces ------------------------------------------------------------------------------------

    def _function_specs(self) -> list[ToolSpec]:
        specs = []
        for tool in self.functions.values():
            function = tool.definition()["function"]
            specs.append(
                ToolSpec(
                    name=tool.name, description=function["description"], parameters=function["parameters"]
                )
            )
        return specs

    def _take_listings(self, state: AgentState, listed: list[CallOutcome]) -> None:
        """The servers' tools (through their filters) beside the function tools, once all are listed;
        a filter or an ``ask_before`` naming a tool nobody offers, or two tools of one name, fail."""
        specs = list(self._specs)
        for outcome in sorted(listed, key=lambda o: int(o.key[1:])):
            index = int(outcome.key[1:])
            server = self.servers[index]
            offered = {t["name"]: t for t in outcome.value or []}
            missing = [n for n in server.tools or () if n not in offered]
            if missing:
                state.failure = Failure(
                    kind="configuration",
                    detail=f"MCP server {server.label} offers no tool {missing[0]!r} "
                    f"(it offers: {', '.join(sorted(offered)) or 'none'})",
                )
                return
            for name, listing in offered.items():
                if server.offers(name):
                    specs.append(_mcp_spec(listing, index, f"{server.label} {name}"))
        names = [s.name for s in specs]
        twice = sorted({n for n in names if names.count(n) > 1})
        unknown = sorted(set(self.gates) - set(names))
        if twice or unknown:
            detail = (
                f"two tools are named {twice[0]!r}: filter one out with tools=[...]"
                if twice
                else f"ask_before names tool {unknown[0]!r}, which no tool source offers"
            )
            state.failure = Failure(kind="configuration", detail=detail)
            return
        state.tools = specs

    def _take_reply(self, state: AgentState, reply: ModelReply) -> None:
        usage = state.usage
        state.model_calls += 1
        usage.model, usage.provider = reply.model, reply.provider
        usage.calls += 1
        usage.latency_ms.append(reply.latency_ms)
        usage.prompt_tokens += reply.prompt_tokens or 0
        usage.completion_tokens += reply.completion_tokens or 0
        usage.total_tokens += reply.total_tokens or 0
        if reply.tool_calls:
            self._begin_round(state, reply)
        else:
            self._final(state, reply)

    def _begin_round(self, state: AgentState, reply: ModelReply) -> None:
        calls = reply.tool_calls
        state.usage.tool_calls += len(calls)
        if state.rounds == self.max_tool_rounds:
            names = ", ".join(sorted({c["name"] for c in calls}))
            state.failure = Failure(
                kind="tool_loop",
                detail=f"the model was still calling tools ({names}) after max_tool_rounds="
                f"{self.max_tool_rounds} rounds; raise max_tool_rounds or make the instructions say when "
                "to answer",
            )
            return
        state.rounds += 1
        state.messages.append(
            {
                "role": "assistant",
                "content": reply.content,
                "tool_calls": [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["arguments"]},
                    }
                    for c in calls
                ],
            }
        )
        specs = {s.name: s for s in state.tools or []}
        state.round = [
            self._checked(
                ToolCall(
                    key=f"t{state.rounds}.{i}", call_id=c["id"], name=c["name"], arguments=c["arguments"]
                ),
                specs,
            )
            for i, c in enumerate(calls)
        ]

    def _checked(self, call: ToolCall, specs: Mapping[str, ToolSpec]) -> ToolCall:
        """A call validated against its tool: to ask about, to run, or answered at once with the error."""
        spec = specs.get(call.name)
        if spec is None:
            available = ", ".join(sorted(specs)) or "none"
            call.status, call.result = (
                "done",
                f"error: there is no tool named {call.name!r}; available tools: {available}",
            )
            return call
        try:
            call.parsed = self._parsed(spec, call.arguments)
        except ValueError as err:
            call.status, call.result = "done", f"error: invalid arguments for tool {call.name!r}: {err}"
            return call
        gate = self.gates.get(call.name)
        call.gate, call.status = gate, "ask" if gate else "run"
        return call

    def _parsed(self, spec: ToolSpec, text: str) -> dict[str, Any]:
        """The arguments as JSON the tool takes; ValueError naming what is wrong."""
        if spec.source == "function":
            try:
                parsed = self.functions[spec.name].arguments.model_validate_json(text or "{}")
            except ValidationError as err:
                raise ValueError(_brief(err)) from None
            return parsed.model_dump(mode="json")
        try:
            arguments = json.loads(text or "{}")
        except json.JSONDecodeError as err:
            raise ValueError(f"not JSON ({err.msg})") from None
        if not isinstance(arguments, dict):
            raise ValueError("not a JSON object")
        # A null for a property the server left optional means "leave it out" (see strict_tool_parameters).
        arguments = {k: v for k, v in arguments.items() if not (v is None and k in spec.optional)}
        try:
            jsonschema.validate(arguments, spec.input_schema or {"type": "object"})
        except jsonschema.ValidationError as err:
            where = ".".join(map(str, err.absolute_path)) or "(root)"
            raise ValueError(f"{where}: {err.message}") from None
        except jsonschema.SchemaError:
            pass  # the server's own schema is broken: let the server judge the arguments
        return arguments

    def _final(self, state: AgentState, reply: ModelReply) -> None:
        if reply.refusal:
            state.failure = Failure(kind="output", detail=f"the model refused to answer: {reply.refusal}")
        elif reply.finish_reason == "length":
            state.failure = Failure(
                kind="output", detail="the answer was cut off at the token limit", output=reply.content
            )
        elif reply.finish_reason == "content_filter":
            state.failure = Failure(
                kind="output", detail="the answer was withheld by the content filter", output=reply.content
            )
        elif not reply.content:
            state.failure = Failure(kind="output", detail="the model returned an empty answer")
        else:
            self._validated(state, reply.content)

    def _validated(self, state: AgentState, text: str) -> None:
        try:
            answer = self.output_type.model_validate_json(text)
        except ValidationError as err:
            snippet = text if len(text) <= 300 else text[:300] + "..."
            state.failure = Failure(
                kind="output",
                detail=f"the answer does not match {self.output_type.__name__}: {_brief(err)}; "
                f"answer was: {snippet}",
                output=text,
            )
            return
        state.done, state.output = True, answer.model_dump(mode="json")

    def _ask(self, state: AgentState, call: ToolCall) -> LoopAsk:
        spec = next(s for s in state.tools or [] if s.name == call.name)
        request = ToolCallRequest(
            agent=self.agent_id, tool=call.name, arguments=call.parsed or {}, description=spec.description
        )
        assert call.gate is not None
        return LoopAsk(key=call.key, approval_id=call.gate, request=request.model_dump(mode="json"))

    def _tool_call(self, state: AgentState, call: ToolCall) -> LoopCall:
        spec = next(s for s in state.tools or [] if s.name == call.name)
        payload = {
            "tool": call.name,
            "arguments": call.parsed or {},
            "source": spec.source,
            "server": spec.server,
        }
        return LoopCall(key=call.key, kind=TOOL, name=call.name, payload=payload)

    @staticmethod
    def _close_round(state: AgentState) -> None:
        """Once every call of the round is answered, the answers go to the model, in its order."""
        if not state.round or any(c.status != "done" for c in state.round):
            return
        state.messages += [
            {"role": "tool", "tool_call_id": c.call_id, "content": c.result or ""} for c in state.round
        ]
        state.round = []


def _mcp_spec(listing: Mapping[str, Any], server: int, owner: str) -> ToolSpec:
    schema = listing.get("inputSchema") or {"type": "object", "properties": {}}
    parameters, strict, optional = strict_tool_parameters(schema, owner)
    return ToolSpec(
        name=str(listing["name"]),
        description=str(listing.get("description") or listing["name"]).split("\n\n")[0].strip(),
        parameters=parameters,
        strict=strict,
        source="mcp",
        server=server,
        input_schema=schema,
        optional=optional,
    )


def _refusal(tool: str, decision: AskDecision) -> str:
    """What the model reads when a person did not approve the call."""
    if decision.timed_out:
        return f"refused: nobody approved calling {tool} before the deadline; the tool was not called"
    who = decision.decided_by or "the approver"
    response = decision.response if isinstance(decision.response, dict) else {}
    comment = str(response.get("comment") or "").strip()
    return (
        f"refused: {who} did not approve calling {tool}"
        + (f" ({comment})" if comment else "")
        + "; the tool was not called"
    )


def _brief(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in err.errors()[:5])


__all__ = ["LIST_TOOLS", "MODEL", "TOOL", "AgentLoop"]
