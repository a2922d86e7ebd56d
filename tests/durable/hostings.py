"""The hostings a durable test can run the app on, behind the same HTTP API: devhost (the Functions app on
our local Functions host) and ``python -m engine serve`` on durabletask's in-memory backend (the Durable
Task runner: durabletask-python's own worker and backend, no Functions). Parity suites run on both."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

import pytest

from tests.durable.conftest import ROOT, SIGNING_KEY, host_with
from tests.durable.http import get

HOSTINGS = ["devhost", "durabletask"]


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """``python -m engine serve`` as a process: its API root and its console output."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"


@contextmanager
def engine_serve(
    modules: str,
    log: Path,
    *,
    backend: str = "durabletask:memory",
    extra: dict[str, str] | None = None,
    worker: bool = True,
) -> Iterator[Served]:
    """The app served by ``python -m engine serve`` with the workflows of ``modules`` added."""
    port = free_port()
    env = {
        **os.environ,
        "WORKFLOW_MODULES": modules,
        "APPROVAL_SIGNING_KEY": SIGNING_KEY,
        "PYTHONPATH": str(ROOT),
        **(extra or {}),
    }
    env.pop("WEBSITE_HOSTNAME", None)
    command = [sys.executable, "-m", "engine", "serve", "--port", str(port), "--backend", backend]
    command += [] if worker else ["--no-worker"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(process, f"http://localhost:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{served.api_url}/workflows"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"engine serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _answers(url: str) -> bool:
    try:
        return get(url).status == 200
    except URLError:
        return False  # not listening yet


def hosted_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, modules: str
) -> Iterator[str]:
    """``{api}/workflows`` of the hosting ``request.param`` names, serving ``modules``: for a module
    fixture parametrized with ``HOSTINGS``."""
    if request.param == "devhost":
        for host in host_with(tmp_path_factory, modules):
            yield f"{host.api_url}/workflows"
        return
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with engine_serve(modules, log) as served:
        yield f"{served.api_url}/workflows"


__all__ = ["HOSTINGS", "Served", "engine_serve", "free_port", "hosted_api"]
