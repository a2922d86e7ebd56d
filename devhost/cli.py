"""`python -m devhost`: run a Functions app folder like `func start`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import sys
from pathlib import Path

from devhost.config.errors import DevHostError
from devhost.config.host_settings import load_host_json, load_local_settings, request_body_limit
from devhost.console import app_logs, host_logs
from devhost.functions.indexing import WORKER_MODULE_NAME
from devhost.host import DevHost, HostOptions, load_app


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line of ``python -m devhost``."""
    p = argparse.ArgumentParser(prog="python -m devhost", description="Local Azure Functions + Durable host")
    p.add_argument("--app-dir", default=".", help="the app folder (default: current directory)")
    p.add_argument("--port", type=int, default=7071)
    p.add_argument(
        "--state", default=None, help="SQLite state file (default <app-dir>/.devhost/state.sqlite)"
    )
    p.add_argument("--in-memory", action="store_true", help="keep all state in memory")
    p.add_argument("--require-keys", action="store_true", help="enforce function/admin auth levels")
    p.add_argument(
        "--simulate-easy-auth",
        action="store_true",
        default=None,
        help="trust client-sent x-ms-client-principal headers as if App Service authentication had set them, "
        "and set WEBSITE_AUTH_ENABLED=true (default: the DEVHOST_SIMULATE_EASY_AUTH setting, else off: "
        "such headers are removed)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        help="request body cap: larger requests get 413 (default: the FUNCTIONS_REQUEST_BODY_SIZE_LIMIT "
        "app setting, else 104857600 bytes = 100 MB, as on Azure)",
    )
    return p.parse_args(argv)


def build(args: argparse.Namespace) -> DevHost:
    """The host the arguments describe: the app imported (its logs set up first) and indexed, not started."""
    app_dir = Path(args.app_dir).resolve()
    if not app_dir.is_dir():
        raise DevHostError(f"app folder {app_dir} does not exist")
    state = None if args.in_memory else Path(args.state or app_dir / ".devhost" / "state.sqlite").resolve()
    # The app's own logs on the console from its import on, filtered as host.json says; the worker's
    # debug switch is an app setting, so local.settings.json counts (the environment wins).
    app_settings = {**load_local_settings(app_dir), **os.environ}
    levels = load_host_json(app_dir, app_settings).log_levels
    host_logs.levels = levels
    app_logs.install(levels, app_settings)
    # Its own process, one app: the app is imported as the worker imports it, `function_app`.
    app = load_app(
        app_dir,
        state.parent if state else None,
        simulate_easy_auth=args.simulate_easy_auth,
        module_name=WORKER_MODULE_NAME,
    )
    if app.signing_key_note is not None:  # only an app that serves workflows signs approval links
        host_logs.logger.info("%s", app.signing_key_note)
    options = HostOptions(
        app_dir,
        args.port,
        state,
        args.in_memory,
        args.require_keys,
        request_body_limit(args.max_body_bytes),
        simulate_easy_auth=app.simulate_easy_auth,
    )
    return DevHost(options, app.settings, app.index)


# Python's cyclic collector, at its defaults, collects the young generation every 700 allocations and
# scans the whole tracked heap each time it has grown by a quarter. Under func start the task hub's state
# lives in the host, outside the Python worker; devhost keeps it in the app's process, so every full
# collection walked devhost's histories and everything the app and devhost imported: 10 of them, 0.9 s,
# and 1.1 s of collecting in all, of the 3.7 s a 10,000-item map took. Collecting less often (an app's
# cyclic garbage lives a little longer: peak memory 5-8 MB higher there) and leaving what start-up made
# out of the scans gives most of that time back.
COLLECTOR_THRESHOLDS = (50_000, 20, 10)


def calm_collector() -> None:
    """Once the host has started: what start-up left alive stays out of later collections (gc.freeze),
    which come less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


async def serve(host: DevHost) -> None:
    """Run the host until SIGINT or SIGTERM, then stop it."""
    await host.start()
    calm_collector()
    print(host.banner(), flush=True)
    host_logs.logger.info(
        "Host started on http://localhost:%d (state: %s)",
        host.port,
        "in memory" if host.options.in_memory else host.options.state,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await host.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the app folder's host; 2 with one line on stderr when it cannot start."""
    args = parse_args(argv)
    host_logs.configure_console()
    try:
        host = build(args)
        asyncio.run(serve(host))
    except DevHostError as exc:
        if exc.detail:
            print(exc.detail, file=sys.stderr, end="" if exc.detail.endswith("\n") else "\n")
        print(f"devhost: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0
