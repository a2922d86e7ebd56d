from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevHostHandle, DevHostProcess, run_devhost
from engine.durable.signing_keys import SigningKeys, key_id
from engine.functions.approval_tokens import issue
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


@contextmanager
def signing_host(state: Path, key: str, settings: dict[str, str] | None = None) -> Iterator[DevHostProcess]:
    """devhost as a process (so it can be restarted with other settings), signing with ``key``."""
    process = DevHostProcess(ROOT, state, settings={**(settings or SETTINGS), "APPROVAL_SIGNING_KEY": key})
    process.start()
    try:
        yield process
    finally:
        process.stop()


def restart_with(process: DevHostProcess, **settings: str) -> None:
    """Restart ``process`` with ``settings`` changed (a deploy that changes app settings)."""
    process.stop()
    process.settings |= settings
    process.start()


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


def keys_of(secret: str) -> SigningKeys:
    """The app's keys when ``secret`` is its signing key (tests know it)."""
    return SigningKeys((key_id(secret.encode()), secret.encode()), {key_id(secret.encode()): secret.encode()})


def run_nonce(run_uri: str) -> str | None:
    """The nonce of the run at ``run_uri`` (``.../runs/{id}``), read from its input as an operator can."""
    base, instance_id = run_uri.partition("/api/")[0], run_uri.rsplit("/", 1)[1]
    status = get(f"{base}/runtime/webhooks/durabletask/instances/{instance_id}?showInput=true").body
    started = status["input"]
    started = json.loads(started) if isinstance(started, str) else started
    return started.get("run_nonce")


def token_for(
    run_uri: str,
    request_id: str,
    subject: str | None = None,
    *,
    secret: str = SIGNING_KEY,
    expires: datetime | None = None,
    now: datetime | None = None,
    instance_id: str | None = None,
) -> str:
    """A valid approval token for a request of the run at ``run_uri``, as the app would issue it."""
    return issue(
        keys_of(secret),
        instance_id=instance_id or run_uri.rsplit("/", 1)[1],
        run_nonce=run_nonce(run_uri),
        request_id=request_id,
        expires=expires,
        now=now or datetime.now(UTC),
        subject=subject,
    )
