"""The app's workflows as the CLI sees them: ``workflows.served()`` (or ``ALL`` / ``BROKEN``) imported from
the app folder, each broken module named with its problem in one line."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path
from typing import NamedTuple

from engine.cli.arguments import CliError
from engine.core.graph import Workflow
from engine.core.subworkflow import with_subworkflows


class Registry(NamedTuple):
    """The app's workflows: the newest of each, every version, the names listed, and the broken modules."""

    workflows: dict[str, Workflow]  # the newest version of each
    broken: dict[str, str]  # module -> one-line problem
    every: tuple[Workflow, ...] = ()  # every version of every workflow, as ALL lists them
    listed: frozenset[str] = frozenset()  # the names the app lists itself (the rest are sub-workflows)


def load_registry(module: str = "workflows") -> Registry:
    """The app's workflows (``ALL``) and the modules that failed to load (``BROKEN``), from the app folder."""
    sys.path.insert(0, os.getcwd())
    try:
        registry = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise CliError(f"cannot load {module!r}: {one_line(exc)}") from exc
        raise CliError(
            f"cannot import {module!r} from {os.getcwd()}: run this in the app folder ({exc})"
        ) from exc
    except Exception as exc:  # a registry that imports its workflows directly fails as a whole
        raise CliError(f"cannot load {module!r}: {one_line(exc)}") from exc
    served = getattr(registry, "served", None)  # ALL plus the WORKFLOW_MODULES setting, as the app
    if callable(served):
        listed, broken = served()
    else:
        listed, broken = getattr(registry, "ALL", []), getattr(registry, "BROKEN", {})
    every = tuple(with_subworkflows(listed))  # the sub-workflows too, as the app serves them
    names = frozenset(w.name for w in listed)
    return Registry({w.name: w for w in every}, dict(broken), every, names)


def one_line(exc: BaseException) -> str:
    """The exception's type and message on one line, and where in the app folder it was raised."""
    app, engine_dir = Path.cwd().resolve(), Path(__file__).resolve().parents[1]
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename).resolve()
        ours = path.is_relative_to(app) and not path.is_relative_to(engine_dir)
        if ours and "site-packages" not in path.parts:
            where = f" ({path.relative_to(app)}:{frame.lineno})"
            break
    text = " / ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text}{where}"


def report_broken(broken: dict[str, str], level: str) -> None:
    """Print each broken workflow module and its problem on stderr, as a ``level`` line."""
    for module, problem in broken.items():
        print(f"{level}: workflow module {module} failed to load: {problem}", file=sys.stderr)


__all__ = ["Registry", "load_registry", "one_line", "report_broken"]
