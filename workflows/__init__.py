"""The workflows this app serves. ``ALL`` is the registry the Functions app and the CLI read.

Each module named in ``MODULES`` defines ``workflow`` (or ``ALL``, a list) and is imported on its own:
a module that fails (a ``WorkflowValidationError`` from ``build()``, an import error, a typo) is left out
of ``ALL`` and listed in ``BROKEN`` with a one-line problem, and the others are still served.
"""

from __future__ import annotations

import os

from engine.core.graph import Workflow
from workflows.registry import SETTING, load_workflows, served_workflows

MODULES: list[str] = [
    "workflows.expense_claim",
    "workflows.order_cancellation",
    "workflows.content_review",
    "workflows.document_review",
    "workflows.order_refund",
]

ALL: list[Workflow]
BROKEN: dict[str, str]  # module -> its problem, in one line
ALL, BROKEN = load_workflows(MODULES)


def served() -> tuple[list[Workflow], dict[str, str]]:
    """What the app serves: ``ALL`` and the workflows of the modules the ``WORKFLOW_MODULES`` app setting
    names; and every module that failed to load. The Functions app and ``python -m engine`` read this."""
    return served_workflows(ALL, BROKEN, os.environ.get(SETTING, ""))
