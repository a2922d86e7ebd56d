"""The SDK client's shared aiohttp session is closed when devhost stops (no "Unclosed client session")."""

from __future__ import annotations

import importlib

from devhost.testing import DevHostProcess, run_devhost
from tests.devhost.helpers import APPS, call, finished, start

http_utils = importlib.import_module("azure.durable_functions.models.utils.http_utils")


def test_stopping_the_host_closes_the_sdk_client_session():
    with run_devhost(APPS / "durable_basic") as host:
        finished(host, start(host, "chaining"))  # the app's starter uses the SDK client
        session = http_utils._client_session
        assert session is not None and not session.closed
    assert session.closed
    assert http_utils._client_session is None


def test_the_devhost_process_exits_without_unclosed_session_warnings(tmp_path):
    proc = DevHostProcess(APPS / "durable_basic", tmp_path / "state.sqlite").start()
    try:
        reply = call("POST", f"{proc.base_url}/api/start/waiter", None)
        assert reply.status == 202, reply.text
        assert call("POST", f"{proc.base_url}/api/client/status/{reply.json['id']}").status == 200
    finally:
        proc.stop()
    log = proc.log_path.read_text()
    assert "Host started" in log and "Unclosed" not in log
