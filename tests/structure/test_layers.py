"""The engine's layers import one way, only the SDK seam and the Functions app layer touch
azure.durable_functions, devhost and the engine never import each other, and no old flat module path
is still importable."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"

# What each layer may import from ``engine`` (besides itself).
ALLOWED: dict[str, set[str]] = {
    "telemetry": set(),
    "core": set(),
    "inmemory": {"core", "telemetry"},
    "durable": {"core", "telemetry"},
    "agents": {"core", "telemetry"},
    # Stream stores beyond memory (SQLite, Azure Table storage); the seam is core's.
    "streams": {"core"},
    "functions": {"core", "durable", "streams", "telemetry"},
    # The Durable Task runner: the seams' adapters on durabletask-python, a worker.
    "durable_task": {"core", "durable", "telemetry"},
    # The HTTP API hosted without Functions: the same handlers (functions) over the Durable Task runner.
    "serve": {"core", "durable", "durable_task", "functions", "streams", "telemetry"},
    "cli": {"core", "inmemory", "durable", "durable_task", "functions", "serve", "telemetry"},
}
DURABLE_SDK_ALLOWED = {"engine.durable.context", "engine.functions"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "engine" else None


def engine_modules() -> list[Path]:
    return sorted(p for p in ENGINE.rglob("*.py") if p.name != "__main__.py")


def test_every_engine_module_sits_in_a_layer() -> None:
    loose = [p.name for p in ENGINE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert loose == [], f"modules outside the layer packages: {loose}"


def test_layers_import_one_way() -> None:
    problems = []
    for path in engine_modules():
        module = _module_name(path)
        layer = _layer(module)
        if layer is None:  # engine/__init__.py: the curated public surface may name every layer
            continue
        for imported in _imports(path):
            target = _layer(imported)
            if imported.startswith("engine") and target is None and imported != "engine":
                continue
            if imported == "engine":
                problems.append(f"{module} imports the package root 'engine' (import the layer module)")
            elif target is not None and target != layer and target not in ALLOWED[layer]:
                problems.append(f"{module} ({layer}) imports {imported} ({target})")
    assert problems == []


def test_only_the_seam_and_the_functions_layer_import_the_durable_sdk() -> None:
    offenders = []
    for path in [*engine_modules(), *(ROOT / "workflows").rglob("*.py"), *(ROOT / "executors").rglob("*.py")]:
        module = _module_name(path)
        if any(module == allowed or module.startswith(allowed + ".") for allowed in DURABLE_SDK_ALLOWED):
            continue
        if any(
            i == "azure.durable_functions" or i.startswith("azure.durable_functions.") for i in _imports(path)
        ):
            offenders.append(module)
    assert offenders == []


def test_only_the_durable_task_layer_imports_durabletask() -> None:
    offenders = [
        _module_name(p)
        for p in engine_modules()
        if not _module_name(p).startswith("engine.durable_task")
        and any(i == "durabletask" or i.startswith("durabletask.") for i in _imports(p))
    ]
    assert offenders == []


def test_the_lower_layers_import_no_azure_sdk_at_all() -> None:
    offenders = [
        _module_name(p)
        for p in engine_modules()
        if _layer(_module_name(p)) in ("core", "inmemory", "agents")
        and any(i.startswith("azure.functions") or i.startswith("azure.durable") for i in _imports(p))
    ]
    assert offenders == []


def test_devhost_and_the_engine_stay_apart() -> None:
    devhost = [p for p in (ROOT / "devhost").rglob("*.py")]
    assert [p.name for p in devhost if any(i.split(".")[0] == "engine" for i in _imports(p))] == []
    assert [p.name for p in engine_modules() if any(i.split(".")[0] == "devhost" for i in _imports(p))] == []


@pytest.mark.parametrize(
    "old",
    [
        "engine.model",
        "engine.graph",
        "engine.routing",
        "engine.stepping",
        "engine.invoke",
        "engine.inmemory.runner.InMemoryRunner",  # placeholder for the package check below
        "engine.durable.orchestrator.orchestrate",
        "engine.hosting",
        "engine.run_view",
        "engine.progress",
        "engine.step_activity",
        "engine.settings",
        "engine.approval_tokens",
        "engine.openapi",
        "engine.dashboard",
        "engine.cli.watch.watch",  # engine.functions.watch went beside the CLI (below)
    ],
)
def test_old_flat_module_paths_are_gone(old: str) -> None:
    if old.count(".") > 1:  # a new path, listed to show where the old one went: it must import
        module, _, attr = old.rpartition(".")
        assert hasattr(importlib.import_module(module), attr)
        return
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)


def test_watch_moved_beside_the_cli() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("engine.functions.watch")
    assert not (ENGINE / "cli.py").exists()


def test_the_public_surface_is_curated() -> None:
    import engine

    assert "WorkflowApp" in engine.__all__
    assert engine.WorkflowApp.__module__ == "engine.functions.app"
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name
