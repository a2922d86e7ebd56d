"""Every ```bash and ```python block of the README and of docs/*.md runs as pasted; every link between
them resolves.

Each bash block runs on its own in ``bash -euo pipefail`` from the repo root, with this interpreter's
directory (the venv's ``bin``) first on PATH and ``localhost:7071`` rewritten to the test's devhost.
``curl`` fails on an HTTP error status (``--fail-with-body``), so a 4xx the page did not mean to show fails
the block, and so does a ``null``/``None`` printed where a value was expected. Stdin answers ``y`` to every
prompt of ``python -m engine run``. Each python block runs on its own with this interpreter
(``python -c``) from the repo root. A block preceded by ``<!-- no-test: reason -->`` is skipped: keep those
few (a server that runs until Ctrl-C, the whole suite, a sketch whose names are another module's).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devhost.testing import DevHostProcess

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
NO_TEST = re.compile(r"^<!--\s*no-test\b.*-->$")
# bash: the opening `make serve`/`make test`, `make bench`, `func start`; python: sketches naming another
# module's steps (the workflow of "Writing a workflow", the map excerpt, the test of a hypothetical module).
MAX_SKIPPED = {"bash": 3, "python": 3}
# Empty means unset: the agents use the offline model whatever the machine's environment says.
OFFLINE = {
    name: ""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_MODEL",
        "OPENAI_BASE_URL",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_DEPLOYMENT",
        "AZURE_OPENAI_API_VERSION",
        "AZURE_OPENAI_API_KEY",
    )
}
PRELUDE = 'curl() { command curl --fail-with-body --show-error --max-time 70 "$@"; }\n'
NULL_VALUE = re.compile(r"(^|[\]}])\s*(null|None)\s*$")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    section: str
    language: str
    code: str
    skipped: bool

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)} line {self.line} ({self.section})"

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.section.lower()).strip("-")
        return f"{self.page.stem}-{slug}-L{self.line}"


def code_blocks(page: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    section, previous, i = "top", "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#") and not line.startswith("#!"):
            section = line.lstrip("#").strip()
        fence = FENCE.match(line)
        if fence is None:
            previous = line.strip() or previous
            i += 1
            continue
        indent, language = fence.groups()
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        if language in MAX_SKIPPED:
            code = "\n".join(body.removeprefix(indent) for body in lines[i + 1 : end]) + "\n"
            blocks.append(Block(page, i + 1, section, language, code, bool(NO_TEST.match(previous))))
        previous, i = "```", end + 1
    return blocks


BLOCKS = [block for page in PAGES for block in code_blocks(page)]
BASH = [b for b in BLOCKS if b.language == "bash" and not b.skipped]
PYTHON = [b for b in BLOCKS if b.language == "python" and not b.skipped]


def test_the_pages_have_their_sessions_and_few_exclusions() -> None:
    assert shutil.which("curl"), "the README's sessions need curl (.ci/run installs it)"
    assert len(BASH) >= 8 and len(PYTHON) >= 4
    for language, limit in MAX_SKIPPED.items():
        skipped = [b.where for b in BLOCKS if b.language == language and b.skipped]
        assert len(skipped) <= limit, skipped
    assert any("python -m engine run" in b.code for b in BASH)
    assert any("?wait=" in b.code for b in BASH)
    # The README opens with its two commands, serve and test, before anything else.
    first = code_blocks(README)[0]
    assert first.line < 10 and first.code.split()[:2] == ["make", "serve"] and "make test" in first.code


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    found, fenced = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and re.match(r"^#{1,6} ", line):
            found.add(_anchor(line.lstrip("#")))
    return found


def test_every_link_between_the_pages_resolves() -> None:
    problems = []
    for page in PAGES:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target):
                continue  # http(s), mailto: not ours to check
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                problems.append(f"{page.name}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
                problems.append(f"{page.name}: {target} (no such heading)")
    assert problems == []


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """devhost serving the project's function_app.py, as `make serve` does, on a free port."""
    state = tmp_path_factory.mktemp("readme") / "state.sqlite"
    host = DevHostProcess(ROOT, state, settings=OFFLINE).start()
    try:
        yield host.port
    finally:
        host.stop()


def _env() -> dict[str, str]:
    return {
        **os.environ,
        **OFFLINE,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    }


@pytest.mark.parametrize("block", BASH, ids=[b.id for b in BASH])
def test_bash_block_runs_as_pasted(block: Block, port: int) -> None:
    script = PRELUDE + block.code.replace("localhost:7071", f"localhost:{port}")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=_env(),
        input="y\n" * 20,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{block.where} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    nulls = [line for line in done.stdout.splitlines() if NULL_VALUE.search(line)]
    assert nulls == [], f"{block.where} printed null where a value was expected:\n{done.stdout}"


@pytest.mark.parametrize("block", PYTHON, ids=[b.id for b in PYTHON])
def test_python_block_runs_as_pasted(block: Block) -> None:
    done = subprocess.run(
        [sys.executable, "-c", block.code],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{block.where} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
