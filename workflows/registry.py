"""Extra workflow modules named in the app settings, beside the built-in ``ALL``."""

from __future__ import annotations

import importlib

from engine.core.graph import Workflow

SETTING = "WORKFLOW_MODULES"


def extra_workflows(spec: str) -> list[Workflow]:
    """The workflows of each module in ``spec`` (comma-separated): its ``ALL`` list or its ``workflow``."""
    found: list[Workflow] = []
    for name in (part.strip() for part in spec.split(",")):
        if not name:
            continue
        module = importlib.import_module(name)
        workflows = getattr(module, "ALL", None) or [getattr(module, "workflow", None)]
        for wf in workflows:
            if not isinstance(wf, Workflow):
                raise TypeError(f"{SETTING}: module {name!r} has no Workflow in ALL or workflow")
            found.append(wf)
    return found
