"""devhost's subpackages import one way (a declared order, lowest first), no devhost module imports
itself back through others (no import cycle), and every devhost module sits in a known subpackage or is
one of the few top-level entry points, and docs/architecture.md names every one of them.

Every import counts wherever it is written: at module level, under ``if TYPE_CHECKING:`` or inside a
function, so a cycle cannot hide behind a deferred import.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEVHOST = ROOT / "devhost"

# Lowest first: a module may import its own subpackage and those before it, never one after it.
LAYERS = [
    "config",  # local.settings.json, host.json, the state folder, the clock, the one-line error
    "console",  # the host's and the app's log lines
    "worker",  # calling a function, converting values, as the Python worker does
    "storage",  # Azure Storage for the app's bindings (Azurite, blob / queue / table I/O)
    "functions",  # function_app.py indexed, bindings run or refused, @app.retry
    "triggers",  # the timer, queue and blob listeners
    "durable",  # the task hub: episodes, history, activities, entities, timers, rewind
    "management",  # the Durable Functions HTTP management API over the task hub
    "http",  # the aiohttp servers, routes and request guards
]
# Above every layer: the entry points, which may import any of them; no subpackage imports these.
TOP_LEVEL = {"__init__", "__main__", "cli", "host", "testing", "export"}

Graph = dict[str, set[str]]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def devhost_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(DEVHOST.rglob("*.py"))}


def _imported(module: str, path: Path, known: set[str]) -> set[str]:
    """The devhost modules (and packages) ``module`` imports: ``from devhost.pkg import mod`` names the
    module ``devhost.pkg.mod``, relative imports are resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {name for name in found if name in known and name != module}


def import_graph(modules: dict[str, Path]) -> Graph:
    known = set(modules)
    return {module: _imported(module, path, known) for module, path in modules.items()}


def layer(module: str) -> str | None:
    """The subpackage a module sits in; None for the top-level modules (and the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def layer_problems(graph: Graph) -> list[str]:
    problems = []
    for module, imported in sorted(graph.items()):
        own = layer(module)
        if own is None:  # a top-level module may import any subpackage
            continue
        for target in sorted(imported):
            other = layer(target)
            if other is None:
                problems.append(f"{module} ({own}) imports the top-level {target}")
            elif LAYERS.index(other) > LAYERS.index(own):
                problems.append(f"{module} ({own}) imports {target} ({other}), a higher layer")
    return problems


def cycles(graph: Graph) -> list[list[str]]:
    """The import cycles (strongly connected components of more than one module, or a module importing
    itself), each as its sorted modules (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    found.append(sorted(component))
    return found


def test_every_devhost_module_sits_in_a_known_subpackage() -> None:
    loose = []
    for path in DEVHOST.rglob("*.py"):
        parts = path.relative_to(DEVHOST).parts
        if len(parts) == 1 and path.stem in TOP_LEVEL:
            continue
        if len(parts) == 2 and parts[0] in LAYERS:
            continue
        loose.append(str(path.relative_to(ROOT)))
    assert sorted(loose) == [], "modules outside the known subpackages (or nested deeper)"
    assert sorted(p.name for p in DEVHOST.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(
        LAYERS
    )


def test_every_subpackage_says_what_it_is() -> None:
    for name in LAYERS:
        init = DEVHOST / name / "__init__.py"
        tree = ast.parse(init.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"devhost/{name}/__init__.py has no docstring"
        assert all(isinstance(node, ast.Expr) for node in tree.body), f"devhost/{name}: imports nothing"


def test_subpackages_import_one_way() -> None:
    assert layer_problems(import_graph(devhost_modules())) == []


def test_no_import_cycle_between_devhost_modules() -> None:
    assert cycles(import_graph(devhost_modules())) == []


def test_the_checks_catch_a_back_import_and_a_cycle() -> None:
    """The checks above can fail: the real graph with a low layer importing a higher one, and with an
    import that closes a loop."""
    graph = import_graph(devhost_modules())
    assert "devhost.durable.episode" in graph and "devhost.config.host_settings" in graph
    back = {**graph, "devhost.config.host_settings": {"devhost.durable.episode"}}
    assert layer_problems(back) == [
        "devhost.config.host_settings (config) imports devhost.durable.episode (durable), a higher layer"
    ]
    # episode reaches host_settings through its own imports: the back-import closes a loop through them.
    [loop_back] = cycles(back)
    assert {"devhost.config.host_settings", "devhost.durable.episode"} <= set(loop_back)
    # The loop devhost had: the book's retry state in call_retries, which needs the book.
    loop = {**graph, "devhost.durable.replay_bookkeeping": {"devhost.durable.call_retries"}}
    assert layer_problems(loop) == []
    assert cycles(loop) == [
        [
            "devhost.durable.action_scheduling",
            "devhost.durable.call_retries",
            "devhost.durable.entity_calls",
            "devhost.durable.episode_changes",
            "devhost.durable.replay_bookkeeping",
        ]
    ]
    top = {**graph, "devhost.http.http_server": {"devhost.host"}}
    assert layer_problems(top) == ["devhost.http.http_server (http) imports the top-level devhost.host"]


def test_the_architecture_map_names_every_devhost_module() -> None:
    """docs/architecture.md lists every devhost module under its subpackage, one line each."""
    lines = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("devhost/ "))
    end = next(i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith(" "))
    listed: set[str] = set()
    package = ""
    for line in lines[start + 1 : end]:
        if match := re.match(r"^  (\w+)/ ", line):
            package = match[1]
        elif re.match(r"^  \S", line):  # a top-level module
            package = ""
            listed.update(f"devhost.{name}" for name in re.findall(r"(\w+)\.py\b", line.split("  ")[1]))
        elif package and (match := re.match(r"^    (\S[^ ]*(?: [^ ]+)*?)(?:  |$)", line)):
            listed.update(f"devhost.{package}.{name}" for name in re.findall(r"(\w+)\.py\b", match[1]))
    modules = {m for m, p in devhost_modules().items() if p.name != "__init__.py"}
    assert sorted(modules - listed) == [], "devhost modules the architecture map leaves out"
    assert sorted(listed - modules) == [], "modules the architecture map names that do not exist"
