"""Every ```bash block of the README runs as pasted, against a real devhost.

Each block runs on its own in ``bash -euo pipefail`` from the repo root, with this interpreter's directory
(the venv's ``bin``) first on PATH and ``localhost:7071`` rewritten to the test's devhost. ``curl`` fails on
an HTTP error status (``--fail-with-body``), so a 4xx the README did not mean to show fails the block, and
so does a ``null``/``None`` printed where a value was expected. Stdin answers ``y`` to every prompt of
``python -m engine run``. A block preceded by ``<!-- no-test: reason -->`` is skipped: keep those few.
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
NO_TEST = re.compile(r"^<!--\s*no-test\b.*-->$")
MAX_SKIPPED = 3  # the opening `make serve`/`make test`, `make bench`, `func start`
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


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    section: str
    code: str
    skipped: bool

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.section.lower()).strip("-")
        return f"{slug}-L{self.line}"


def bash_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    section, previous, i = "top", "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#") and not line.startswith("#!"):
            section = line.lstrip("#").strip()
        fence = re.match(r"^(\s*)```(\S*)\s*$", line)
        if fence is None:
            previous = line.strip() or previous
            i += 1
            continue
        indent, language = fence.groups()
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        if language == "bash":
            code = "\n".join(body.removeprefix(indent) for body in lines[i + 1 : end]) + "\n"
            blocks.append(Block(i + 1, section, code, bool(NO_TEST.match(previous))))
        previous, i = "```", end + 1
    return blocks


BLOCKS = bash_blocks(README.read_text(encoding="utf-8"))
TESTED = [b for b in BLOCKS if not b.skipped]


def test_the_readme_has_its_sessions_and_few_exclusions() -> None:
    assert shutil.which("curl"), "the README's sessions need curl (.ci/run installs it)"
    assert len(TESTED) >= 7
    assert sum(b.skipped for b in BLOCKS) <= MAX_SKIPPED
    assert any("python -m engine run" in b.code for b in TESTED)
    assert any("?wait=" in b.code for b in TESTED)


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """devhost serving the project's function_app.py, as `make serve` does, on a free port."""
    state = tmp_path_factory.mktemp("readme") / "state.sqlite"
    host = DevHostProcess(ROOT, state, settings=OFFLINE).start()
    try:
        yield host.port
    finally:
        host.stop()


@pytest.mark.parametrize("block", TESTED, ids=[b.id for b in TESTED])
def test_block_runs_as_pasted(block: Block, port: int) -> None:
    script = PRELUDE + block.code.replace("localhost:7071", f"localhost:{port}")
    env = {
        **os.environ,
        **OFFLINE,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        input="y\n" * 20,
        capture_output=True,
        text=True,
        timeout=120,
    )
    where = f"README.md line {block.line} ({block.section})"
    assert done.returncode == 0, f"{where} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    nulls = [line for line in done.stdout.splitlines() if NULL_VALUE.search(line)]
    assert nulls == [], f"{where} printed null where a value was expected:\n{done.stdout}"
