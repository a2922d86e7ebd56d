"""``python -m engine serve`` and ``python -m engine worker``: the workflows on a Durable Task backend,
without Azure Functions.

``worker`` registers every served workflow on a durabletask worker (``engine.durable_task.worker``) and
runs until stopped. ``serve`` answers the same HTTP API, OpenAPI document and dashboard as the Functions
app (``engine.serve.http_adapter``), over the backend's client, and runs a worker in a process of its own
unless ``--no-worker``; it sweeps the streams of runs purged around its API every
``ENGINE_STREAMS_SWEEP_SECONDS`` (``engine.streams.sweep``). The app's workflows come from its
``workflows`` package (``ALL`` and the ``WORKFLOW_MODULES`` setting), as the Functions app reads them.

Bad input is one line on stderr and exit code 2: an unknown backend, an unreachable sidecar, a missing
connection string (named), no ``workflows`` package.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from engine.core.graph import Workflow
from engine.core.streams import stream_store
from engine.core.subworkflow import with_subworkflows
from engine.core.versions import WorkflowVersions
from engine.durable.orchestrator import DEFAULT_CONTINUE_EVERY, STEP_ACTIVITY
from engine.durable.signing_keys import SIGNING_KEY
from engine.durable_task.backends import MEMORY, SDK_LOG, Backend, BackendError, parse
from engine.durable_task.client import DurableTaskClient
from engine.durable_task.worker import ActivityLoop, concurrency, register
from engine.functions.identity import check_identity_settings
from engine.functions.purge_api import client_lookup
from engine.functions.routes import ROUTES
from engine.functions.settings import check_signing_key
from engine.functions.workflow_api import WorkflowApi
from engine.serve.http_adapter import API_PREFIX, application
from engine.streams.choice import FORCE_SETTING, serve_streams_setting
from engine.streams.choice import install as install_streams
from engine.streams.sweep import INTERVAL_SETTING, sweep_every, sweep_interval
from engine.telemetry.setup import configure_from_environment

EXIT_USAGE = 2
STATE_FOLDER = ".engine"  # kept beside the app, as devhost keeps .devhost
log = logging.getLogger("engine.serve")


class CommandError(Exception):
    """One line for the terminal; exit code 2."""


def served_workflows() -> list[Workflow]:
    """The app's workflows, as its Functions app serves them (a broken module is logged and left out)."""
    sys.path.insert(0, os.getcwd())
    try:
        registry = importlib.import_module("workflows")
    except ModuleNotFoundError as exc:
        raise CommandError(
            f"cannot import 'workflows' from {os.getcwd()}: run this in the app folder ({exc})"
        ) from None
    listed, broken = registry.served()
    for module, problem in broken.items():
        log.error("Workflow module %s failed to load and is not served: %s", module, problem)
    if not listed:
        raise CommandError("no workflow to serve: the workflows package lists none that load")
    return list(listed)


def _signing_key() -> None:
    """Without APPROVAL_SIGNING_KEY, one kept in .engine/signing-key (readable by the owner only), so links
    and signed answers survive a restart, as under devhost."""
    if os.environ.get(SIGNING_KEY, "").strip():
        return
    path = Path(STATE_FOLDER) / "signing-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    os.environ[SIGNING_KEY] = path.read_text().strip()
    log.warning("%s is not set: using the key kept in %s", SIGNING_KEY, path)


def _streams() -> None:
    """The stream store for this process and the worker it starts (engine.streams.choice)."""
    setting = serve_streams_setting(Path(STATE_FOLDER))
    if setting is not None:
        os.environ[FORCE_SETTING] = setting
    install_streams()


def run_worker(backend: Backend, workflows: list[Workflow], stop: threading.Event) -> None:
    """Serve ``workflows`` on ``backend`` until ``stop`` is set."""
    worker = backend.make_worker(concurrency())
    loop = ActivityLoop()
    register(worker, workflows, loop)
    worker.start()
    try:
        stop.wait()
    finally:
        # Stopping cancels the worker's own work-item stream, which durabletask reports as an error.
        SDK_LOG.addFilter(_not_our_cancel)
        worker.stop()
        loop.stop()


def _not_our_cancel(record: logging.LogRecord) -> bool:
    """False for durabletask's report of the stream a stopping worker cancelled itself."""
    return "Locally cancelled by application" not in record.getMessage()


def _until_signalled() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def worker_main(backend_spec: str) -> int:
    """``python -m engine worker --backend B``."""
    if backend_spec == MEMORY:
        raise CommandError(
            f"{MEMORY} lives in the process that starts it: run `python -m engine serve --backend {MEMORY}` "
            "(it runs a worker), or give this worker a sidecar: durabletask:HOST:PORT"
        )
    backend = _backend(backend_spec)
    workflows = served_workflows()
    configure_from_environment()
    _streams()
    log.warning("worker: %d workflows on %s", len(workflows), backend.spec)
    run_worker(backend, workflows, _until_signalled())
    return 0


def _backend(spec: str) -> Backend:
    try:
        return parse(spec)
    except BackendError as exc:
        raise CommandError(str(exc)) from None


def serve_main(*, host: str, port: int, backend_spec: str, worker: bool) -> int:
    """``python -m engine serve``."""
    try:
        every = sweep_interval(os.environ.get(INTERVAL_SETTING))
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    backend = _backend(backend_spec)
    workflows = served_workflows()
    os.environ.setdefault("WEBSITE_HOSTNAME", f"localhost:{port}")  # links name this origin
    os.environ["WORKFLOW_HOST_CHECKS_KEYS"] = "false"  # this hosting checks no function keys
    _signing_key()
    check_signing_key()
    check_identity_settings()
    configure_from_environment()
    _streams()
    child = _worker_process(backend) if worker else None
    try:
        asyncio.run(_serve(backend, workflows, host, port, every))
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=10)
        backend.stop()
    return 0


def _worker_process(backend: Backend) -> subprocess.Popen[bytes]:
    """The worker, in a process of its own, on the same backend (the in-memory one by its address)."""
    spec = f"durabletask:{backend.address}" if backend.in_process else backend.spec
    return subprocess.Popen([sys.executable, "-m", "engine", "worker", "--backend", spec])


async def _serve(backend: Backend, workflows: list[Workflow], host: str, port: int, sweep: float) -> None:
    versions = WorkflowVersions.of(with_subworkflows(workflows))
    api = WorkflowApi(
        versions,
        route_prefix="workflows",
        activity_name=STEP_ACTIVITY,
        continue_every=DEFAULT_CONTINUE_EVERY,
        routes=ROUTES,
    )
    client = DurableTaskClient(backend.make_client())
    runner = web.AppRunner(application(api, list(ROUTES), client), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    print(f"serving http://{host}:{port}/{API_PREFIX}/workflows on {backend.spec}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    # Streams of runs purged around the API (durabletask's own client, a sidecar's tools) are swept here.
    sweeping = asyncio.create_task(sweep_every(sweep, stream_store, client_lookup(client)))
    try:
        await stopped.wait()
    finally:
        sweeping.cancel()
        await runner.cleanup()


def run(command: str, options: dict[str, Any]) -> int:
    """Run ``command`` (serve, worker); a ``CommandError`` is one line on stderr and exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if command == "worker":
            return worker_main(options["backend"])
        return serve_main(
            host=options["host"],
            port=options["port"],
            backend_spec=options["backend"],
            worker=options["worker"],
        )
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


__all__ = ["CommandError", "run", "run_worker", "served_workflows"]
