"""A workflow module that fails to load is one line on stderr; the others still list, graph, run and serve.

Each test runs in a subprocess from a temporary app folder: a copy of the app's ``workflows`` package with
two broken modules registered beside the demo workflows (the framework comes from the repo on PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from devhost.testing import DevHostProcess
from workflows import ALL

ROOT = Path(__file__).resolve().parents[2]
HEALTHY = [w.name for w in ALL]  # the copy's healthy workflows: the app's own
CLAIM = {"employee": "ada", "title": "Travel", "amount": 1250}

INVALID_GRAPH = """
from engine import StepContext, WorkflowBuilder, executor


@executor(id="count")
async def count(text: str, ctx: StepContext) -> int:
    return len(text)


@executor(id="shout")
async def shout(text: str, ctx: StepContext) -> str:
    return text.upper()


workflow = WorkflowBuilder("invalid_graph", start=count).add_edge(count, shout).build()
"""
TYPO = """from engine import WorkflowBuilder

workflow = WorkflowBuilder("typo", start=undefined_step).build()
"""
PROBLEMS = {
    "workflows.invalid_graph": (
        "WorkflowValidationError: type mismatch on edge 'count' -> 'shout': 'count' emits int but 'shout' "
        "takes str (workflows/invalid_graph.py:15)"
    ),
    "workflows.typo": "NameError: name 'undefined_step' is not defined (workflows/typo.py:3)",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("app")
    shutil.copytree(ROOT / "workflows", folder / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("function_app.py", "host.json", "local.settings.json"):
        shutil.copy(ROOT / name, folder / name)
    (folder / "workflows" / "invalid_graph.py").write_text(INVALID_GRAPH)
    (folder / "workflows" / "typo.py").write_text(TYPO)
    registry = folder / "workflows" / "__init__.py"
    text = registry.read_text()
    first = '    "workflows.expense_claim",\n'
    assert first in text, "workflows/__init__.py lists its modules in MODULES"
    registered = '    "workflows.invalid_graph",\n' + first + '    "workflows.typo",\n'
    registry.write_text(text.replace(first, registered))
    return folder


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def engine(app: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=app,
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def expected_lines(level: str) -> list[str]:
    return [f"{level}: workflow module {m} failed to load: {p}" for m, p in PROBLEMS.items()]


def test_list_names_each_broken_module_in_one_line_and_lists_the_others(app: Path) -> None:
    done = engine(app, "list")
    assert done.returncode == 2
    assert [line.split()[0] for line in done.stdout.splitlines()[1:]] == HEALTHY
    assert done.stderr.splitlines() == expected_lines("error")


def test_graph_of_a_healthy_workflow_warns_about_the_broken_ones(app: Path) -> None:
    done = engine(app, "graph", "expense_claim")
    assert done.returncode == 0
    assert done.stdout.startswith("flowchart TD")
    assert done.stderr.splitlines() == expected_lines("warning")


def test_run_of_a_healthy_workflow_works(app: Path) -> None:
    done = engine(app, "run", "expense_claim", "--input", json.dumps(CLAIM), "--approve", "--quiet")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["outcome"] == "paid"
    assert done.stderr.splitlines() == expected_lines("warning")


def test_unknown_workflow_names_the_broken_modules(app: Path) -> None:
    done = engine(app, "graph", "invalid_graph")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        f"error: unknown workflow 'invalid_graph' (known: {', '.join(sorted(HEALTHY))};"
        " broken modules: workflows.invalid_graph, workflows.typo)"
    )


def test_a_registry_that_fails_as_a_whole_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "__init__.py").write_text("from workflows.invalid_graph import workflow\n")
    (tmp_path / "workflows" / "invalid_graph.py").write_text(INVALID_GRAPH)
    done = engine(tmp_path, "list")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: cannot load 'workflows': " + PROBLEMS["workflows.invalid_graph"]
    ]


def test_function_app_logs_one_error_line_per_broken_module(app: Path) -> None:
    script = "import logging; logging.basicConfig(format='%(levelname)s %(name)s: %(message)s')\n"
    script += "import function_app"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=app, env=env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == [
        f"ERROR function_app: Workflow module {m} failed to load and is not served: {p}"
        for m, p in PROBLEMS.items()
    ]


def test_devhost_serves_the_healthy_workflows(app: Path, tmp_path: Path) -> None:
    host = DevHostProcess(app, tmp_path / "state.sqlite").start()
    try:
        with urllib.request.urlopen(f"{host.base_url}/api/workflows", timeout=10) as reply:
            names = [w["name"] for w in json.load(reply)["workflows"]]
    finally:
        host.stop()
    assert names == HEALTHY
    log = host.log_path.read_text()
    assert "Traceback" not in log
    for module, problem in PROBLEMS.items():
        assert f"Workflow module {module} failed to load and is not served: {problem}" in log
