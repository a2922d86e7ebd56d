"""Agent executors on OpenAI, Azure OpenAI, any OpenAI-compatible server, or the built-in offline model.

Usage::

    from engine.agents import Agent, ask_before, describe_provider, mcp_stdio

    triage = Agent(
        "triage",
        instructions="Classify the support ticket.",
        input_type=Ticket,
        output_type=Triage,
        tools=[lookup_order, mcp_stdio("python", "-m", "orders_mcp"), ask_before("refund", approver="boss")],
    )
    logging.getLogger(__name__).info(describe_provider())  # which model service, at start-up

The provider comes from the environment (see ``providers.py``) at each call, so importing a workflow
never needs keys; with none configured the offline model answers (and says so in the log).
"""

from __future__ import annotations

from engine.agents.agent import DEFAULT_RETRY, Agent
from engine.agents.asks import AskBefore, ToolCallRequest, ask_before
from engine.agents.errors import (
    AgentConfigurationError,
    AgentFailure,
    AgentOutputError,
    AgentRequestError,
    AgentToolLoopError,
    AgentTransientError,
    ProviderConfigurationError,
)
from engine.agents.mcp import McpServer, McpServerError, McpServerRefused, mcp_http, mcp_stdio
from engine.agents.offline import OfflineModel, offline_model
from engine.agents.prompt import render_json
from engine.agents.providers import (
    DEFAULT_AZURE_API_VERSION,
    AzureOpenAIProvider,
    OfflineProvider,
    OpenAIProvider,
    Provider,
    close_clients,
    describe_provider,
    provider_from_env,
)
from engine.agents.schema import UnsupportedSchemaError, strict_json_schema
from engine.agents.tools import Tool, tool

__all__ = [
    "DEFAULT_AZURE_API_VERSION",
    "DEFAULT_RETRY",
    "Agent",
    "AgentConfigurationError",
    "AgentFailure",
    "AgentOutputError",
    "AgentRequestError",
    "AgentToolLoopError",
    "AgentTransientError",
    "AskBefore",
    "AzureOpenAIProvider",
    "McpServer",
    "McpServerError",
    "McpServerRefused",
    "OfflineModel",
    "OfflineProvider",
    "OpenAIProvider",
    "Provider",
    "ProviderConfigurationError",
    "Tool",
    "ToolCallRequest",
    "UnsupportedSchemaError",
    "ask_before",
    "close_clients",
    "describe_provider",
    "mcp_http",
    "mcp_stdio",
    "offline_model",
    "provider_from_env",
    "render_json",
    "strict_json_schema",
    "tool",
]
