"""Our engine's workflow app for the agent-loop benchmark: a plain step, and an agent doing its work."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from bench.agent_workflows import agentic, plain
from engine.functions.app import WorkflowApp

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(WorkflowApp([plain, agentic]).blueprint)
