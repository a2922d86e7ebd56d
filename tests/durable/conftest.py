from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHostHandle, run_devhost

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"WORKFLOW_MODULES": "tests.durable.graphs"}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    """devhost running the project's own function_app.py, on SQLite, with the test workflows added."""
    state = tmp_path_factory.mktemp("devhost") / "state.sqlite"
    with run_devhost(ROOT, state=state, in_memory=False, settings=SETTINGS) as handle:
        yield handle


@pytest.fixture
def api(host: DevHostHandle) -> str:
    return f"{host.api_url}/workflows"
