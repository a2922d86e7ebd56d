"""Public definitions say what they are: at least ``THRESHOLD`` of engine's and devhost's carry a docstring.

Counted: every module-level or class-level ``def``, ``async def`` and ``class`` whose name does not start
with ``_``, and recursively the definitions of such public classes (not functions nested in functions,
nor the members of private classes). The share is over engine/ and devhost/ together, so a module may
lag while the whole does not; the failure lists every undocumented definition, file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "devhost")
THRESHOLD = 0.85

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def public_definitions(tree: ast.AST, prefix: str = "") -> list[tuple[str, Definition]]:
    """The public definitions directly in ``tree`` (a module or a class), with those of its public
    classes, each with its qualified name."""
    found: list[tuple[str, Definition]] = []
    for node in ast.iter_child_nodes(tree):
        if not isinstance(node, Definition) or node.name.startswith("_"):
            continue
        name = f"{prefix}{node.name}"
        found.append((name, node))
        if isinstance(node, ast.ClassDef):
            found += public_definitions(node, f"{name}.")
    return found


def docstring_coverage(root: Path, packages: tuple[str, ...]) -> tuple[int, list[str]]:
    """How many public definitions the packages have, and the undocumented ones (``path:line name``)."""
    total = 0
    missing: list[str] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for name, node in public_definitions(tree):
                total += 1
                if not ast.get_docstring(node):
                    missing.append(f"{path.relative_to(root)}:{node.lineno} {name}")
    return total, missing


def test_public_definitions_are_documented() -> None:
    total, missing = docstring_coverage(ROOT, PACKAGES)
    share = (total - len(missing)) / total
    assert share >= THRESHOLD, (
        f"{share:.1%} of the {total} public definitions in engine/ and devhost/ have a docstring, under "
        f"{THRESHOLD:.0%}; these have none:\n" + "\n".join(missing)
    )


def test_the_count_follows_public_classes_only() -> None:
    source = '''
def shown(): """Documented."""
def bare(): pass
async def bare_async(): pass
def _private(): pass
class Public:
    """Documented."""
    def method(self): pass
    class Inner:
        def deep(self): pass
    def outer(self):
        def nested(): pass
class _Private:
    def hidden(self): pass
'''
    names = [(name, bool(ast.get_docstring(node))) for name, node in public_definitions(ast.parse(source))]
    assert names == [
        ("shown", True),
        ("bare", False),
        ("bare_async", False),
        ("Public", True),
        ("Public.method", False),
        ("Public.Inner", False),
        ("Public.Inner.deep", False),
        ("Public.outer", False),
    ]
