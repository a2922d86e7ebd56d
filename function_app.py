"""The Functions app: a Durable Functions app serving every workflow in ``workflows.ALL``.

More workflow modules can be named, comma-separated, in the ``WORKFLOW_MODULES`` app setting.
"""

from __future__ import annotations

import os

import azure.durable_functions as df
import azure.functions as func

from engine.hosting import WorkflowApp
from workflows import ALL
from workflows.registry import SETTING, extra_workflows

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(WorkflowApp([*ALL, *extra_workflows(os.environ.get(SETTING, ""))]).blueprint)
