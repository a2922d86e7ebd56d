"""The agent executor: instructions + typed input -> an LLM (with optional tools) -> a validated output model.

Each step renders its input into a prompt (``prompt.py``), asks the model through chat.completions with a
strict JSON-schema response format made from the output model (``schema.py``), runs the tools the model
calls for at most ``max_tool_rounds`` rounds (``tools.py``), and validates the final answer into the
output model. Token usage and latency are attached to the step with ``ctx.annotate(agent={...})``.

The provider is resolved at each call, not at construction, so importing a workflow module never needs
keys; without any provider configured the offline model answers (``offline.py``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, ClassVar

from openai import OpenAIError
from openai.types.chat.chat_completion import Choice
from pydantic import BaseModel, ValidationError

from engine.agents.chat import Usage, complete
from engine.agents.errors import (
    NON_RETRYABLE,
    AgentConfigurationError,
    AgentOutputError,
    AgentRef,
    ProviderConfigurationError,
)
from engine.agents.offline import OfflineSchemaError, offline_model
from engine.agents.prompt import Render, chat_messages, render_json
from engine.agents.providers import (
    AzureOpenAIProvider,
    OfflineProvider,
    OpenAIProvider,
    Provider,
    client_for,
    provider_from_env,
)
from engine.agents.schema import schema_name, strict_json_schema
from engine.agents.tools import Tool, ToolFunction, as_tool, run_tool_loop
from engine.core.executor import Executor, StepContext
from engine.core.retry import RetryPolicy

DEFAULT_RETRY = RetryPolicy(max_attempts=3, first_interval=timedelta(seconds=1))


class Agent(Executor[Any, Any]):
    """An executor whose work is done by a language model.

    ``Agent("triage", instructions="...", input_type=Ticket, output_type=Triage, tools=[lookup_order])``

    - ``input_type``: any type pydantic handles; rendered into the prompt by ``render_input``.
    - ``output_type``: a pydantic model; the answer must validate against it.
    - ``tools``: functions (sync or async) or ``Tool``s the model may call, at most ``max_tool_rounds``
      rounds per step.
    - ``model``: model (OpenAI, compatible server) or deployment (Azure) name; default from the provider
      (``OPENAI_MODEL`` / ``AZURE_OPENAI_DEPLOYMENT``).
    - ``temperature``: sampling temperature; ``None`` leaves it out (reasoning models refuse it).
    - ``timeout``: the budget of each model call.
    - ``retry``: defaults to ``DEFAULT_RETRY``; agent failures that a retry cannot fix are added to its
      ``non_retryable``.
    - ``provider``: an ``OpenAIProvider`` / ``AzureOpenAIProvider`` / ``OfflineProvider``; default: from the
      environment at each call.
    - ``render``: replaces ``render_input`` (message -> user prompt text).

    The offline model (no provider configured) answers directly and calls no tools.
    """

    kind: ClassVar[str] = "agent"

    def __init__(
        self,
        id: str,
        *,
        instructions: str,
        input_type: Any,
        output_type: type[BaseModel],
        tools: Sequence[Tool | ToolFunction] = (),
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
        self.tools = [as_tool(t) for t in tools]
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise ValueError(f"agent {id!r}: tool names must be unique, got {names}")
        self.model = model
        self.temperature = temperature
        self.timeout = timeout
        self.max_tool_rounds = max_tool_rounds
        self.provider = provider
        self._render = render
        # Built now so an output model strict mode cannot express fails at import, not at the first call.
        self.response_format: dict[str, Any] = {
            "type": "json_schema",
            "json_schema": {
                "name": schema_name(output_type),
                "schema": strict_json_schema(output_type),
                "strict": True,
            },
        }
        self._tool_definitions = [t.definition() for t in self.tools]

    # -- prompt (override points) -------------------------------------------------------------------

    def render_input(self, message: Any) -> str:
        """The user prompt for ``message``: ``render=`` if given, else JSON under a heading (prompt.py)."""
        if self._render is not None:
            return self._render(message)
        return render_json(message, self.input_adapter, self.input_type)

    def build_messages(self, message: Any) -> list[dict[str, Any]]:
        """The conversation sent for ``message``: the instructions, then the rendered input."""
        return chat_messages(self.instructions, self.render_input(message))

    # -- execution ----------------------------------------------------------------------------------

    async def handle(self, message: Any, ctx: StepContext) -> BaseModel:
        message = self.input_adapter.validate_python(message)
        provider = self._provider()
        model = self._model(provider)
        ref = AgentRef(self.id, model)
        usage = Usage(model=model, provider=provider.kind)
        messages = self.build_messages(message)
        try:
            if isinstance(provider, OfflineProvider):
                return self._answer_offline(messages, ref, usage)
            return await self._answer_online(provider, model, messages, ref, usage, ctx)
        finally:
            ctx.annotate(agent=usage.annotation())

    def _provider(self) -> Provider:
        if self.provider is not None:
            return self.provider
        try:
            return provider_from_env()
        except ProviderConfigurationError as err:
            raise AgentConfigurationError(AgentRef(self.id, self.model), str(err)) from err

    def _model(self, provider: Provider) -> str:
        if isinstance(provider, OfflineProvider):
            return provider.model
        model = self.model or provider.model
        if not model:
            variable = "AZURE_OPENAI_DEPLOYMENT" if provider.kind == "azure" else "OPENAI_MODEL"
            raise AgentConfigurationError(
                AgentRef(self.id, None),
                f"no model to call: {provider.describe()}; set {variable} or pass model= to the agent",
            )
        return model

    def _answer_offline(self, messages: list[dict[str, Any]], ref: AgentRef, usage: Usage) -> BaseModel:
        started = time.perf_counter()
        try:
            text = offline_model().answer(self.output_type, json.dumps(messages, sort_keys=True))
        except OfflineSchemaError as err:
            raise AgentOutputError(
                ref, f"the offline model cannot answer with {self.output_type.__name__}: {err}"
            ) from err
        usage.add(None, round((time.perf_counter() - started) * 1000))
        return self._validate(text, ref)

    async def _answer_online(
        self,
        provider: OpenAIProvider | AzureOpenAIProvider,
        model: str,
        messages: list[dict[str, Any]],
        ref: AgentRef,
        usage: Usage,
        ctx: StepContext,
    ) -> BaseModel:
        try:
            client = client_for(provider)
        except (ProviderConfigurationError, OpenAIError) as err:
            raise AgentConfigurationError(ref, str(err)) from err
        request: dict[str, Any] = {"model": model, "response_format": self.response_format}
        if self.temperature is not None:
            request["temperature"] = self.temperature
        if self._tool_definitions:
            request["tools"] = self._tool_definitions

        async def send(conversation: list[dict[str, Any]]) -> Choice:
            try:
                completion = await complete(
                    client, {**request, "messages": conversation}, timeout=self.timeout, ref=ref, usage=usage
                )
            finally:
                ctx.annotate(agent=usage.annotation())
            if not completion.choices:
                raise AgentOutputError(ref, "the model service returned no choices")
            choice = completion.choices[0]
            usage.tool_calls += len(choice.message.tool_calls or [])
            return choice

        choice = await run_tool_loop(
            send, messages, self.tools, max_rounds=self.max_tool_rounds, ref=ref, ctx=ctx
        )
        return self._final(choice, ref)

    def _final(self, choice: Choice, ref: AgentRef) -> BaseModel:
        message = choice.message
        if message.refusal:
            raise AgentOutputError(ref, f"the model refused to answer: {message.refusal}")
        if choice.finish_reason == "length":
            raise AgentOutputError(ref, "the answer was cut off at the token limit", output=message.content)
        if choice.finish_reason == "content_filter":
            raise AgentOutputError(
                ref, "the answer was withheld by the content filter", output=message.content
            )
        if not message.content:
            raise AgentOutputError(ref, "the model returned an empty answer")
        return self._validate(message.content, ref)

    def _validate(self, text: str, ref: AgentRef) -> BaseModel:
        try:
            return self.output_type.model_validate_json(text)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in err.errors()[:5]
            )
            snippet = text if len(text) <= 300 else text[:300] + "..."
            raise AgentOutputError(
                ref,
                f"the answer does not match {self.output_type.__name__}: {problems}; answer was: {snippet}",
                output=text,
            ) from err
