"""The Functions app: a Durable Functions app serving every workflow in ``workflows.ALL``."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from engine.hosting import WorkflowApp
from workflows import ALL

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(WorkflowApp(ALL).blueprint)
