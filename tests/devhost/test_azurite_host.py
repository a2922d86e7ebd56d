"""devhost runs Azurite for apps whose Storage connections say UseDevelopmentStorage=true: with its data
in the state folder, stopped with the host, and a clear error when it is missing. (`func start` expects
the developer to run Azurite on its default ports; devhost runs it itself: on those ports when
AzureWebJobsStorage names development storage and they are free, see test_development_storage.py, else on
free ports.) No other host runs in this module: the connection setting devhost rewrites is process-wide."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devhost.config.errors import DevHostError
from devhost.storage.storage_account import DEFAULT_CONNECTION
from devhost.testing import DevHostProcess, run_devhost
from tests.devhost.azurite_support import REQUIRE_SETTING, need_azurite, storage_clients
from tests.devhost.helpers import APPS, call

APP = APPS / "storage"


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)
    return value


def test_missing_azurite_is_a_clear_start_up_error():
    # `func start` without a running emulator logs "The listener for function '...' was unable to start"
    # for each storage trigger (a refused connection to 127.0.0.1:10001); devhost runs the emulator
    # itself, so it says before starting what is missing and how to get it.
    with (
        pytest.raises(DevHostError) as failure,
        run_devhost(APP, settings={"DEVHOST_AZURITE": "/nowhere/azurite"}),
    ):
        pass
    message = failure.value.message
    assert "Azurite" in message and "npm install -g azurite" in message and "UseDevelopmentStorage" in message
    assert "on_order" in message  # names the functions that need it


def test_unset_storage_connection_is_a_start_up_error():
    # The host fails to start a storage listener whose connection setting does not exist.
    with pytest.raises(DevHostError) as failure, run_devhost(APP, settings={DEFAULT_CONNECTION: ""}):
        pass
    assert "'AzureWebJobsStorage' is not set" in failure.value.message


def test_apps_without_storage_bindings_need_no_azurite():
    with run_devhost(APPS / "durable_basic", settings={"DEVHOST_AZURITE": "/nowhere/azurite"}) as host:
        assert host.host.triggers is not None and host.host.triggers.azurite is None


def test_azurite_data_is_kept_in_the_state_folder_and_receipts_survive_a_restart(tmp_path: Path):
    # Blob receipts live in the storage account (azure-webjobs-hosts), so with Azurite's data kept in the
    # state folder (<app>/.devhost/azurite by default) a blob processed before a restart is not processed
    # again after it.
    need_azurite(APP)
    state = tmp_path / "state.sqlite"
    with run_devhost(APP, state=state) as first:
        azurite = first.host.triggers.azurite
        assert azurite is not None and azurite.process is not None
        process = azurite.process
        blobs = storage_clients(os.environ[DEFAULT_CONNECTION])[0]
        blobs.get_blob_client("uploads", "kept.txt").upload_blob(b"kept", overwrite=True)
        eventually(lambda: call("GET", f"{first.api_url}/seen/uploads").json)
        # The stop below lets the run finish and write its receipt (a blob whose run is cut short by a
        # crash runs again after the restart: receipts make it at least once, not exactly once).
    assert process.poll() is not None  # stopped with the host
    assert os.environ.get(DEFAULT_CONNECTION) is None  # the setting devhost pointed at it is restored
    assert any((tmp_path / "azurite").iterdir())
    with run_devhost(APP, state=state) as second:
        blobs = storage_clients(os.environ[DEFAULT_CONNECTION])[0]
        assert blobs.get_blob_client("copies", "kept.txt").exists()
        blobs.get_blob_client("uploads", "fresh.txt").upload_blob(b"fresh", overwrite=True)
        eventually(lambda: call("GET", f"{second.api_url}/seen/uploads").json)
        time.sleep(2)
        assert [u["name"] for u in call("GET", f"{second.api_url}/seen/uploads").json] == [
            "uploads/fresh.txt"
        ]


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


@pytest.mark.parametrize("how", ["SIGTERM", "kill -9"])
def test_azurite_ends_with_the_devhost_process(tmp_path: Path, how: str):
    # `python -m devhost` as the user runs it: Azurite runs while devhost does and is gone after it,
    # stopped on exit, or (Linux, setpriv --pdeathsig) terminated when devhost is killed outright.
    need_azurite(APP)
    process = DevHostProcess(APP, tmp_path / "state.sqlite").start()
    try:
        log = process.log_path
        found = eventually(lambda: re.search(r"Azurite: blob 127\.0\.0\.1:(\d+)", log.read_text()))
        blob_port = int(found.group(1))
        assert _port_open(blob_port)
        eventually(lambda: "\ton_upload: blobTrigger" in log.read_text())  # the banner, after start
        assert "\ton_order: queueTrigger" in log.read_text()
    finally:
        process.stop() if how == "SIGTERM" else process.kill9()
    eventually(lambda: not _port_open(blob_port), timeout=15)


def test_ci_turns_a_missing_azurite_into_a_failure(monkeypatch: pytest.MonkeyPatch):
    # A developer without Node.js gets a skip saying how to install Azurite; CI (.ci/run sets
    # DEVHOST_REQUIRE_AZURITE=1) gets a failure instead, so the Storage tests can never skip silently there.
    monkeypatch.setenv("DEVHOST_AZURITE", "/nowhere/azurite")
    monkeypatch.setenv(REQUIRE_SETTING, "1")
    with pytest.raises(pytest.fail.Exception, match="npm install -g azurite"):
        need_azurite(APP)
    monkeypatch.delenv(REQUIRE_SETTING)
    with pytest.raises(pytest.skip.Exception, match="npm install -g azurite"):
        need_azurite(APP)
