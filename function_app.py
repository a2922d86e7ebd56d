"""The Functions app: a Durable Functions app serving every workflow in ``workflows.ALL``.

More workflow modules can be named, comma-separated, in the ``WORKFLOW_MODULES`` app setting. A workflow
module that fails to load is logged as one ERROR line at start-up and left out; the others are served.
"""

from __future__ import annotations

import logging
import os

import azure.durable_functions as df
import azure.functions as func

from engine.agents import OfflineProvider, describe_provider, provider_from_env
from engine.functions.app import WorkflowApp
from workflows import ALL, BROKEN
from workflows.registry import SETTING, load_workflows, module_names

logger = logging.getLogger("function_app")

extra, extra_broken = load_workflows(module_names(os.environ.get(SETTING, "")))
served = [*ALL]
for wf in extra:
    if any((wf.name, wf.version) == (other.name, other.version) for other in served):
        logger.error(
            "Workflow %r version %r in %s is already served; the second one is not.",
            wf.name,
            wf.version,
            SETTING,
        )
    else:
        served.append(wf)  # another version of a served workflow is served beside it (the last is newest)
for module, problem in {**BROKEN, **extra_broken}.items():
    logger.error("Workflow module %s failed to load and is not served: %s", module, problem)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(WorkflowApp(served).blueprint)

# Say at start-up which model service the agents will call, and plainly when it is the offline model.
_provider_line = describe_provider()
try:
    _offline = isinstance(provider_from_env(), OfflineProvider)
except Exception:  # a misconfiguration is reported by describe_provider's line itself
    _offline = False
logger.log(logging.WARNING if _offline else logging.INFO, _provider_line)
