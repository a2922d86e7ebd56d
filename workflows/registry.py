"""Loading workflow modules one by one, so one broken workflow does not take the others down.

``workflows.ALL`` is built here from ``workflows.MODULES``; the Functions app also loads the extra modules
named in the ``WORKFLOW_MODULES`` app setting (comma-separated) the same way.
"""

from __future__ import annotations

import importlib
import sysconfig
import traceback
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from engine.core.graph import Workflow

SETTING = "WORKFLOW_MODULES"

_MAX_PROBLEM = 400
_THIS_FILE = Path(__file__).resolve()
_APP_DIR = _THIS_FILE.parent.parent
_NOT_APP_CODE = [
    Path(importlib.import_module("engine").__file__ or ".").resolve().parent,
    *{Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")},
]


def load_workflows(modules: Iterable[str]) -> tuple[list[Workflow], dict[str, str]]:
    """Import each module on its own: (its workflows, in order; {module: one-line problem} for the rest).

    A module provides ``workflow`` (one ``Workflow``) or ``ALL`` (a list of them). Any exception while
    importing it (a ``WorkflowValidationError`` from ``build()``, an import error, a typo) makes it broken,
    and so does a module with no workflow or with a workflow version another module already defines.
    """
    found: list[Workflow] = []
    broken: dict[str, str] = {}
    owners: dict[tuple[str, str], str] = {}  # (name, version) -> module: versions of one workflow may
    # come from several modules (the old one kept beside the new), one version from one only
    for name in dict.fromkeys(modules):  # each module once, in order
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            broken[name] = describe_problem(exc)
            continue
        workflows = _workflows_of(module)
        if workflows is None:
            broken[name] = "defines neither `workflow` (a Workflow) nor `ALL` (a list of Workflow)"
            continue
        clash = next(((wf.name, wf.version) for wf in workflows if (wf.name, wf.version) in owners), None)
        if clash is not None:
            broken[name] = f"workflow {clash[0]!r} version {clash[1]!r} is already defined by {owners[clash]}"
            continue
        for wf in workflows:
            owners[(wf.name, wf.version)] = name
            found.append(wf)
    return found, broken


def served_workflows(
    base: list[Workflow], base_broken: dict[str, str], setting: str
) -> tuple[list[Workflow], dict[str, str]]:
    """``base`` plus the workflows of the modules ``setting`` names (a ``WORKFLOW_MODULES`` value), and
    every module that failed to load. A version already served is not served twice: that is a problem
    of the module that repeats it. Another version of a served workflow is served beside it (the last
    listed is the newest)."""
    extra, broken = load_workflows(module_names(setting))
    served = [*base]
    problems = {**base_broken, **broken}
    for wf in extra:
        if any((wf.name, wf.version) == (other.name, other.version) for other in served):
            already = f"workflow {wf.name!r} version {wf.version!r} is already served"
            problems[f"{SETTING} ({wf.name})"] = already
        else:
            served.append(wf)
    return served, problems


def module_names(spec: str) -> list[str]:
    """The module names of a comma-separated setting such as ``WORKFLOW_MODULES``."""
    return [part.strip() for part in spec.split(",") if part.strip()]


def describe_problem(exc: BaseException) -> str:
    """One line: the exception's type and message, and where in the app's own code it was raised."""
    if isinstance(exc, SyntaxError):
        message = exc.msg
        where = f"{_shown(exc.filename)}:{exc.lineno}" if exc.filename else None
    else:
        message = str(exc)
        where = _app_location(exc)
    text = " / ".join(line.strip() for line in message.splitlines() if line.strip())
    if len(text) > _MAX_PROBLEM:
        text = text[: _MAX_PROBLEM - 1] + "…"
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"{line} ({where})" if where else line


def _workflows_of(module: ModuleType) -> list[Workflow] | None:
    many = getattr(module, "ALL", None)
    if isinstance(many, list | tuple) and many and all(isinstance(wf, Workflow) for wf in many):
        return list(many)
    one = getattr(module, "workflow", None)
    return [one] if isinstance(one, Workflow) else None


def _app_location(exc: BaseException) -> str | None:
    """file:line of the innermost frame in the app's own code (not the framework, Python or a package)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith("<"):
            continue
        path = Path(frame.filename).resolve()
        if path == _THIS_FILE or any(path.is_relative_to(skip) for skip in _NOT_APP_CODE):
            continue
        return f"{_shown(frame.filename)}:{frame.lineno}"
    return None


def _shown(filename: str) -> str:
    """A path relative to the app folder (the one holding this package) when it is inside it."""
    path = Path(filename).resolve()
    return str(path.relative_to(_APP_DIR)) if path.is_relative_to(_APP_DIR) else str(path)
