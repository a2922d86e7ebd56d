"""`make test` installs Azurite into the project (.tools/, gitignored) where npm exists, and devhost finds it
there; without npm it says so and what to do, and the Storage tests skip with that reason."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from devhost.storage.azurite import find_azurite

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")


def _make(folder: Path, path: str) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    shutil.copy(ROOT / "Makefile", folder / "Makefile")
    return subprocess.run(
        [MAKE, "-s", "azurite"],
        cwd=folder,
        env={"PATH": path, "HOME": str(folder)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_installs_the_pinned_azurite_into_tools_with_npm(tmp_path: Path) -> None:
    # npm stands in for the registry: it records how it was called and puts the executable where npm would.
    bin_dir = tmp_path / "bin"
    _executable(
        bin_dir / "npm",
        '#!/bin/sh\necho "$@" > npm-args\nmkdir -p .tools/node_modules/.bin\n'
        "printf '#!/bin/sh\\n' > .tools/node_modules/.bin/azurite\n"
        "chmod +x .tools/node_modules/.bin/azurite\n",
    )
    for tool in ("mkdir", "printf", "chmod", "touch"):
        found = shutil.which(tool)
        assert found is not None
        os.symlink(found, bin_dir / tool)
    app = tmp_path / "clone"
    app.mkdir()
    done = _make(app, str(bin_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Installing Azurite 3.35.0 into .tools/" in done.stdout
    assert (app / "npm-args").read_text().split() == [
        "install", "--prefix", ".tools", "--no-audit", "--no-fund", "--loglevel=error", "azurite@3.35.0"
    ]  # fmt: skip
    assert find_azurite(app, {"PATH": ""}) == str(app / ".tools/node_modules/.bin/azurite")
    # Once installed, `make test` does not install it again.
    (app / "npm-args").unlink()
    assert _make(app, str(bin_dir)).stdout == "" and not (app / "npm-args").exists()


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_without_npm_make_says_what_is_skipped_and_how_to_get_it(tmp_path: Path) -> None:
    done = _make(tmp_path, str(tmp_path / "empty"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == (
        "npm not found: the Storage tests that need Azurite (about 40) will be skipped."
    )
    assert "apt-get install nodejs npm" in done.stdout and "https://nodejs.org" in done.stdout


def test_the_project_s_tools_folder_is_ignored_by_git() -> None:
    assert ".tools/" in (ROOT / ".gitignore").read_text().splitlines()
