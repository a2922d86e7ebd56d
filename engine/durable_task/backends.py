"""Where a Durable Task runner keeps its task hub: the ``--backend`` of ``python -m engine serve`` and
``python -m engine worker``.

- ``durabletask:memory``: durabletask's own in-memory backend (``durabletask.testing``), started in this
  process on a free port, for tests and demos (its state ends with the process);
- ``durabletask:HOST:PORT``: a sidecar speaking the Durable Task gRPC protocol: the Durable Task
  Scheduler emulator, or a Dapr sidecar (Dapr Workflow);
- ``dts``: Azure Durable Task Scheduler, its endpoint and task hub from the
  ``DURABLE_TASK_SCHEDULER_CONNECTION_STRING`` setting (``Endpoint=...;TaskHub=...;Authentication=...``;
  ``TASKHUB_NAME`` when the string names no hub), signed in with Entra ID through azure-identity.

Bad input (an unknown backend, an unreachable sidecar, a missing or malformed connection string) is a
``BackendError``: one line that names the setting or the address, for the command to print with exit 2.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from durabletask.client import TaskHubGrpcClient
from durabletask.worker import TaskHubGrpcWorker

from engine.durable_task.memory_backend import start_backend

CONNECTION_SETTING = "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
# durabletask logs every work item at INFO on loggers of its own making unless given one: ours, whose level
# the app's logging decides.
SDK_LOG = logging.getLogger("engine.durabletask")
TASKHUB_SETTING = "TASKHUB_NAME"
MEMORY = "durabletask:memory"
BACKENDS_HELP = "durabletask:memory, durabletask:HOST:PORT (a sidecar: the DTS emulator or Dapr), or dts"


class BackendError(Exception):
    """Why a backend cannot be used, as one line."""


@dataclass
class Backend:
    """A chosen backend: how to build a client and a worker for it, and how to stop what it started."""

    spec: str
    address: str  # host:port (or the scheduler's endpoint)
    make_client: Callable[[], TaskHubGrpcClient]
    make_worker: Callable[[Any], TaskHubGrpcWorker]  # the worker's concurrency options
    stop: Callable[[], None] = field(default=lambda: None)
    in_process: bool = False  # the backend lives in this process (the worker must be given its address)


def parse(spec: str) -> Backend:
    """The backend ``spec`` names (memory starts its server here); ``BackendError`` for anything else."""
    if spec == MEMORY:
        return _memory()
    if spec == "dts":
        return _scheduler(os.environ.get(CONNECTION_SETTING, ""))
    if spec.startswith("durabletask:"):
        host, sep, port = spec.removeprefix("durabletask:").rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise BackendError(
                f"--backend {spec!r}: a sidecar is durabletask:HOST:PORT, e.g. durabletask:localhost:4001"
            )
        return sidecar(host, int(port), spec)
    raise BackendError(f"unknown --backend {spec!r}: use {BACKENDS_HELP}")


def sidecar(host: str, port: int, spec: str | None = None) -> Backend:
    """A Durable Task sidecar at ``host:port``, checked reachable now (a clear line, not a retry loop)."""
    address = f"{host}:{port}"
    try:
        with closing(socket.create_connection((host, port), timeout=3)):
            pass
    except OSError as exc:
        raise BackendError(
            f"cannot reach a Durable Task sidecar at {address} ({exc.strerror or exc}): start the Durable "
            "Task Scheduler emulator or a Dapr sidecar there, or use --backend durabletask:memory"
        ) from None
    return Backend(
        spec or f"durabletask:{address}",
        address,
        lambda: TaskHubGrpcClient(host_address=address, logger=SDK_LOG, emit_trace_spans=False),
        lambda concurrency: TaskHubGrpcWorker(
            host_address=address, concurrency_options=concurrency, emit_trace_spans=False, logger=SDK_LOG
        ),
    )


def _memory() -> Backend:
    with closing(socket.socket()) as probe:  # a free port for the backend's gRPC server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start_backend(port)
    backend = sidecar("localhost", port, MEMORY)
    backend.stop = server.stop
    backend.in_process = True
    return backend


def connection_parts(text: str) -> dict[str, str]:
    """``Key=Value;Key=Value`` (keys in any case) as a dict with lower-case keys."""
    parts: dict[str, str] = {}
    for piece in text.split(";"):
        key, sep, value = piece.partition("=")
        if sep and key.strip():
            parts[key.strip().lower()] = value.strip()
    return parts


def _scheduler(text: str) -> Backend:
    if not text.strip():
        raise BackendError(
            f"--backend dts needs the {CONNECTION_SETTING} setting (Endpoint=https://<scheduler>;TaskHub=<hub>;"
            "Authentication=DefaultAzure)"
        )
    parts = connection_parts(text)
    endpoint = parts.get("endpoint", "")
    hub = parts.get("taskhub") or os.environ.get(TASKHUB_SETTING, "")
    parsed = urlparse(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BackendError(f"{CONNECTION_SETTING}: Endpoint must be an http(s) URL, got {endpoint!r}")
    if not hub:
        raise BackendError(f"{CONNECTION_SETTING} names no TaskHub (and {TASKHUB_SETTING} is not set)")
    credential = _credential(parts.get("authentication", "DefaultAzure"), parts.get("clientid"))
    secure = parsed.scheme == "https"
    from durabletask.azuremanaged.client import DurableTaskSchedulerClient
    from durabletask.azuremanaged.worker import DurableTaskSchedulerWorker

    address = endpoint
    return Backend(
        "dts",
        address,
        lambda: DurableTaskSchedulerClient(
            host_address=address,
            taskhub=hub,
            token_credential=credential,
            secure_channel=secure,
            logger=SDK_LOG,
        ),
        lambda concurrency: DurableTaskSchedulerWorker(
            host_address=address,
            taskhub=hub,
            token_credential=credential,
            secure_channel=secure,
            concurrency_options=concurrency,
            logger=SDK_LOG,
        ),
    )


def _credential(kind: str, client_id: str | None) -> Any:
    """Entra ID through azure-identity (``None``: the emulator, which takes no token)."""
    if kind.lower() == "none":
        return None
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if kind.lower() == "managedidentity":
        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    if kind.lower() == "defaultazure":
        return DefaultAzureCredential()
    raise BackendError(
        f"{CONNECTION_SETTING}: Authentication must be DefaultAzure, ManagedIdentity or None, got {kind!r}"
    )


__all__ = ["BACKENDS_HELP", "CONNECTION_SETTING", "MEMORY", "Backend", "BackendError", "parse", "sidecar"]
