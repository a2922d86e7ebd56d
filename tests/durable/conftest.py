from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHostHandle, run_devhost

ROOT = Path(__file__).resolve().parents[2]
SIGNING_KEY = "test-signing-key-not-a-secret"
SETTINGS = {"WORKFLOW_MODULES": "tests.durable.graphs", "APPROVAL_SIGNING_KEY": SIGNING_KEY}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    """devhost running the project's own function_app.py, on SQLite, with the test workflows added."""
    state = tmp_path_factory.mktemp("devhost") / "state.sqlite"
    with run_devhost(ROOT, state=state, in_memory=False, settings=SETTINGS) as handle:
        yield handle


@pytest.fixture
def api(host: DevHostHandle) -> str:
    return f"{host.api_url}/workflows"


def token_for(instance_id: str, request_id: str, subject: str | None = None) -> str:
    """A valid approval token, as the app would issue it (tests know the signing key)."""
    from datetime import UTC, datetime

    from engine.functions.approval_tokens import issue

    now = datetime.now(UTC)
    return issue(
        SIGNING_KEY.encode(),
        instance_id=instance_id,
        request_id=request_id,
        expires=None,
        now=now,
        subject=subject,
    )
