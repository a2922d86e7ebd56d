"""A Durable Task sidecar for tests: durabletask's in-memory backend in a process of its own
(``python -m engine.durable_task.memory_sidecar``), which ``engine serve`` and ``engine worker`` reach as
``durabletask:localhost:PORT``, and outlives them (a redeploy, a kill -9 of the worker)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from tests.durable.conftest import ROOT
from tests.durable.hostings import free_port


@contextmanager
def memory_sidecar(log: Path) -> Iterator[int]:
    """The sidecar's port, while it runs."""
    port = free_port()
    command = [sys.executable, "-m", "engine.durable_task.memory_sidecar", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with closing(socket.create_connection(("127.0.0.1", port), timeout=1)):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the sidecar did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
