"""AzureWebJobsStorage=UseDevelopmentStorage=true in an app without any Storage binding, whose own code
calls the Storage SDK on it (apps/app_storage). Under `func start` the Durable extension keeps its task hub
in that account, so the developer runs Azurite on its well-known ports (blob 10000, queue 10001, table
10002: where every Storage SDK sends UseDevelopmentStorage=true), and the app's own calls reach it. devhost
runs that Azurite itself, or says at start-up that none runs and why. No other host runs in this module:
the emulator's well-known ports are the machine's."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator

import pytest

from devhost.storage.development_storage import SETTING, WELL_KNOWN_PORTS, well_known_ports_free
from devhost.testing import run_devhost
from tests.devhost.azurite_support import need_azurite
from tests.devhost.helpers import APPS, call

APP = APPS / "app_storage"


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _messages(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


def test_the_apps_own_storage_calls_reach_an_azurite_on_the_well_known_ports(caplog):
    need_azurite(APP)
    if not well_known_ports_free():
        pytest.skip("the Storage emulator's well-known ports are in use on this machine")
    caplog.set_level(logging.INFO, logger="devhost")
    with run_devhost(APP) as host:
        triggers = host.host.triggers
        assert triggers is not None and triggers.azurite is not None
        assert (
            triggers.endpoints.blob,
            triggers.endpoints.queue,
            triggers.endpoints.table,
        ) == WELL_KNOWN_PORTS
        # The setting is left as it is: UseDevelopmentStorage=true already points at these ports, so the
        # client the app built at import, before the host started, reaches the emulator too.
        assert os.environ[SETTING] == "UseDevelopmentStorage=true"
        assert call("PUT", f"{host.api_url}/notes/n1", raw=b"kept").status == 201
        reply = call("GET", f"{host.api_url}/notes/n1")
        assert reply.status == 200 and reply.text == "kept"
    assert "Azurite: blob 127.0.0.1:10000, queue 127.0.0.1:10001, table 127.0.0.1:10002" in _messages(caplog)
    assert "for AzureWebJobsStorage" in _messages(caplog)
    assert not _port_open(WELL_KNOWN_PORTS[0])  # stopped with the host


def test_without_azurite_start_up_says_that_none_runs_and_why(caplog):
    caplog.set_level(logging.INFO, logger="devhost")
    with run_devhost(APP, settings={"DEVHOST_AZURITE": "/nowhere/azurite"}) as host:
        assert host.host.triggers is not None and host.host.triggers.azurite is None
    [line] = [
        r for r in caplog.records if "AzureWebJobsStorage is UseDevelopmentStorage=true" in r.getMessage()
    ]
    assert line.levelno == logging.WARNING
    message = line.getMessage()
    assert "not installed" in message and "app's own Storage calls" in message and "npm install" in message


@pytest.fixture
def taken_port() -> Iterator[None]:
    """The emulator's blob port held by another listener (an Azurite of the developer's own, say)."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the last test's TIME_WAIT
    try:
        with contextlib.suppress(OSError):  # already taken: by something else, which serves as well
            holder.bind(("127.0.0.1", WELL_KNOWN_PORTS[0]))
            holder.listen()
        yield
    finally:
        holder.close()


def test_an_emulator_already_on_the_well_known_ports_is_left_to_serve(taken_port, caplog):
    need_azurite(APP)
    caplog.set_level(logging.INFO, logger="devhost")
    with run_devhost(APP) as host:
        assert host.host.triggers is not None and host.host.triggers.azurite is None
    [line] = [
        r for r in caplog.records if "AzureWebJobsStorage is UseDevelopmentStorage=true" in r.getMessage()
    ]
    assert "already in use" in line.getMessage() and "starts no Azurite" in line.getMessage()
