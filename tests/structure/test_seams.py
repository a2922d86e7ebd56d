"""The read model and the client seam hold: views read a ``RunSnapshot``, never the live ``Orchestration``;
HTTP handlers reach the task hub only through ``DurableClient``, whose Azure adapter is the one module of
the HTTP layer that touches azure-functions-durable's client."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
DURABLE = ENGINE / "durable"
# The adapter, and the app that registers the Functions (its client binding hands the SDK client over).
SDK_CLIENT_ALLOWED = {"engine/functions/azure_client.py", "engine/functions/app.py"}
# What only azure-functions-durable's client has: a call to one of these is a handler around the seam.
SDK_CLIENT_CALLS = {
    "get_status",
    "get_status_all",
    "get_status_by",
    "start_new",
    "purge_instance_history",
    "get_client_response_links",
    "create_http_management_payload",
    "_orchestration_bindings",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _imported_names(tree: ast.Module) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {(alias.name, "") for alias in node.names}
    return found


def _outside_durable() -> list[Path]:
    return sorted(
        p for p in [*ROOT.glob("engine/**/*.py"), *ROOT.glob("bench/*.py")] if DURABLE not in p.parents
    )


def test_no_module_outside_engine_durable_imports_the_orchestration() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _outside_durable()
        if ("engine.durable.orchestrator", "Orchestration") in _imported_names(_tree(path))
    ]
    assert offenders == [], f"read RunSnapshot instead of Orchestration in: {offenders}"


def test_http_handlers_reach_the_backend_only_through_the_client_seam() -> None:
    problems = []
    for path in sorted((ENGINE / "functions").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        if relative in SDK_CLIENT_ALLOWED:
            continue
        tree = _tree(path)
        for module, _ in _imported_names(tree):
            if module.startswith("azure.durable_functions"):
                problems.append(f"{relative} imports {module}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in SDK_CLIENT_CALLS:
                problems.append(f"{relative}:{node.lineno} uses the SDK client's {node.attr}")
    assert problems == [], problems


def test_the_seam_names_no_sdk() -> None:
    tree = _tree(DURABLE / "client.py")
    assert not any(m.startswith(("azure", "durabletask")) for m, _ in _imported_names(tree))


def test_the_architecture_map_names_every_engine_module() -> None:
    """docs/architecture.md lists every engine module under its layer, and only modules that exist."""
    import re

    lines = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("engine/")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("devhost/"))
    listed: set[str] = set()
    package = ""
    for line in lines[start + 1 : end]:
        if match := re.match(r"^  (\w+)/ ", line):
            package = match[1]
        elif match := re.match(r"^  (\w+)\.py\b", line):
            package = ""
            listed.add("engine" if match[1] == "__init__" else f"engine.{match[1]}")
        elif package and (match := re.match(r"^    (\w+)\.py\b", line)):
            listed.add(f"engine.{package}.{match[1]}")
    modules = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in ENGINE.rglob("*.py")
        if p.name != "__init__.py" or p.parent == ENGINE
    }
    modules = {m.removesuffix(".__init__") for m in modules}
    assert sorted(modules - listed) == [], "engine modules the architecture map leaves out"
    assert sorted(listed - modules) == [], "modules the architecture map names that do not exist"
