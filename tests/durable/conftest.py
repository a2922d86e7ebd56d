from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevHostHandle, run_devhost
from tests.durable.http import get

ROOT = Path(__file__).resolve().parents[2]
SIGNING_KEY = "test-signing-key-not-a-secret"
WEBHOOK = "/runtime/webhooks/durabletask/instances"
SETTINGS = {"WORKFLOW_MODULES": "tests.durable.graphs", "APPROVAL_SIGNING_KEY": SIGNING_KEY}


def host_with(tmp_path_factory: pytest.TempPathFactory, modules: str) -> Iterator[DevHostHandle]:
    """devhost running the project's own function_app.py, on SQLite, with the workflows of ``modules``
    (the WORKFLOW_MODULES setting) added and answers signed: a module-scoped fixture yields from it."""
    state = tmp_path_factory.mktemp("devhost") / "state.sqlite"
    settings = {"WORKFLOW_MODULES": modules, "APPROVAL_SIGNING_KEY": SIGNING_KEY}
    with run_devhost(ROOT, state=state, in_memory=False, settings=settings) as handle:
        yield handle


def instances(host: DevHostHandle, prefix: str) -> dict[str, dict[str, Any]]:
    """Every instance whose id starts with ``prefix`` (a run, its partitions and child runs), as the
    management API shows it with its history."""
    listed = get(f"{host.base_url}{WEBHOOK}?instanceIdPrefix={prefix}&top=1000").body
    return {
        item["instanceId"]: get(f"{host.base_url}{WEBHOOK}/{item['instanceId']}?showHistory=true").body
        for item in listed
    }


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    """devhost with the test workflows added."""
    yield from host_with(tmp_path_factory, SETTINGS["WORKFLOW_MODULES"])


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
