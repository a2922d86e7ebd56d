"""The Functions app: a Durable Functions app serving every workflow in ``workflows.ALL``.

More workflow modules can be named, comma-separated, in the ``WORKFLOW_MODULES`` app setting. A workflow
module that fails to load is logged as one ERROR line at start-up and left out; the others are served.
"""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from engine.agents import OfflineProvider, describe_provider, provider_from_env
from engine.functions.app import WorkflowApp
from workflows import served

logger = logging.getLogger("function_app")

workflows, problems = served()
for module, problem in problems.items():
    logger.error("Workflow module %s failed to load and is not served: %s", module, problem)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(WorkflowApp(workflows).blueprint)

# Say at start-up which model service the agents will call, and plainly when it is the offline model.
_provider_line = describe_provider()
try:
    _offline = isinstance(provider_from_env(), OfflineProvider)
except Exception:  # a misconfiguration is reported by describe_provider's line itself
    _offline = False
logger.log(logging.WARNING if _offline else logging.INFO, _provider_line)
