"""The telemetry tests' workflows served with ``continue_every=2``: the loop's runs continue as new every 2
supersteps."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from engine.functions.app import WorkflowApp
from tests.telemetry.workflows import looping, workflow

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(WorkflowApp([looping, workflow], continue_every=2).blueprint)
