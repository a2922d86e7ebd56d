"""Attribute, span event and instrument names: ours under ``workflow.``, agent calls as gen_ai says."""

from __future__ import annotations

SCOPE = "durable-agent-workflows"
DEFAULT_SERVICE_NAME = "durable-agent-workflows"

WORKFLOW = "workflow.name"
VERSION = "workflow.version"
INSTANCE = "workflow.instance_id"
EXECUTOR = "workflow.executor.id"
SUPERSTEP = "workflow.superstep"
ITEM = "workflow.step.item"
ATTEMPT = "workflow.step.attempt"
IDEMPOTENCY_KEY = "workflow.step.idempotency_key"
OUTCOME = "workflow.step.outcome"
RETRIED = "workflow.step.retried"
RUN_STATUS = "workflow.run.status"
ERROR_TYPE = "error.type"

APPROVAL_OPENED = "approval.opened"
APPROVAL_CLOSED = "approval.closed"
APPROVAL_ID = "workflow.approval.id"
APPROVAL_REQUEST = "workflow.approval.request_id"
APPROVAL_DEADLINE = "workflow.approval.deadline"
APPROVAL_OUTCOME = "workflow.approval.outcome"
APPROVAL_DECIDED_BY = "workflow.approval.decided_by"
APPROVAL_VIA = "workflow.approval.via"

STEPS_STARTED = "workflow.steps.started"
STEPS_FAILED = "workflow.steps.failed"
STEPS_RETRIED = "workflow.steps.retried"
STEP_DURATION = "workflow.step.duration"
APPROVALS_PENDING = "workflow.approvals.pending"

# OpenTelemetry semantic conventions for generative AI (gen_ai.*): spans and metrics of model calls.
GEN_AI_OPERATION = "gen_ai.operation.name"
GEN_AI_SYSTEM = "gen_ai.system"
GEN_AI_PROVIDER = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE = "gen_ai.tool.type"
GEN_AI_TOKEN_USAGE = "gen_ai.client.token.usage"
GEN_AI_OPERATION_DURATION = "gen_ai.client.operation.duration"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"

# The provider kinds of ``engine.agents`` as the conventions name them: ``gen_ai.provider.name`` (current)
# and ``gen_ai.system`` (what older back ends and dashboards still read).
GEN_AI_PROVIDERS = {"openai": ("openai", "openai"), "azure": ("azure.ai.openai", "az.ai.openai")}
