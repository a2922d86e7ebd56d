"""Running devhost from pytest: in-process with a controllable clock, or as a subprocess.

All in-process hosts share ONE background event loop thread: the SDK's client keeps a
module-level aiohttp session (and lock) bound to the loop that first used it, so a loop per
host would break the second host in the same process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.config.host_clock import Clock
from devhost.config.host_settings import restore_environment
from devhost.host import DevHost, HostOptions, load_app

__all__ = ["DevHostHandle", "DevHostProcess", "run_devhost"]

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()
# Settings the in-process hosts running now provided for their apps (WEBSITE_HOSTNAME, the kept signing key,
# WEBSITE_AUTH_ENABLED): a DevHostProcess started meanwhile must not inherit them as if the user had set
# them, or its app would build links to the other host.
_provided_by_hosts: Counter[str] = Counter()


def _shared_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="devhost-loop", daemon=True).start()
            _loop = loop
        return _loop


def _run(coro: Any, timeout: float | None = None) -> Any:
    fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, _shared_loop())
    return fut.result(timeout)


async def _probe_idle(task_hub: Any) -> bool:
    return bool(task_hub.is_idle())


@dataclass
class DevHostHandle:
    """An in-process host started by ``run_devhost``, with its URLs and the clock a test can move."""

    host: DevHost
    base_url: str
    api_url: str
    clock: Clock

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        """Block until nothing is queued or running (timers in the future don't count)."""
        deadline = time.monotonic() + timeout
        streak = 0
        while True:
            task_hub = self.host.task_hub
            assert task_hub is not None

            streak = streak + 1 if _run(_probe_idle(task_hub), timeout=5) else 0
            if streak >= 3:  # idle on three consecutive probes: nothing is in between hand-offs
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"devhost did not become idle within {timeout}s")
            time.sleep(0.005)


@contextlib.contextmanager
def run_devhost(
    app_dir: str | Path,
    *,
    state: Path | None = None,
    in_memory: bool = True,
    settings: dict[str, str] | None = None,
    require_keys: bool = False,
    simulate_easy_auth: bool | None = None,
    clock: Clock | None = None,
) -> Iterator[DevHostHandle]:
    """devhost in this process, on the shared loop; stopped (and the environment restored) on exit.

    ``simulate_easy_auth``: None (as ``python -m devhost``: the DEVHOST_SIMULATE_EASY_AUTH setting
    decides, off by default: client-sent ``x-ms-client-principal*`` headers are removed), True (the
    test plays the platform: such headers pass and WEBSITE_AUTH_ENABLED=true), False (removed whatever
    the setting says). ``clock``: the host's clock (default a new one at real time), for a test that
    needs time moved before the host starts (a timer past due at start-up).
    """
    app = Path(app_dir).resolve()
    previous: dict[str, str | None] = {}
    for key, value in (settings or {}).items():
        previous[key] = os.environ.get(key)
        os.environ[key] = value
    try:
        use_memory = in_memory and state is None
        loaded = load_app(
            app,
            None if use_memory or state is None else state.parent,
            simulate_easy_auth=simulate_easy_auth,
        )
        try:
            options = HostOptions(
                app,
                0,
                None if use_memory else state,
                use_memory,
                require_keys,
                simulate_easy_auth=loaded.simulate_easy_auth,
            )
            host = DevHost(options, loaded.settings, loaded.index, clock=clock or Clock())
            _run(host.start(), timeout=30)
            provided = loaded.provided | host.provided_environment
            _provided_by_hosts.update(provided)
            try:
                prefix = loaded.settings.route_prefix
                yield DevHostHandle(
                    host, host.base_url, host.base_url + ("/" + prefix if prefix else ""), host.clock
                )
            finally:
                _provided_by_hosts.subtract(provided)
                _run(host.stop(), timeout=30)
        finally:
            restore_environment(loaded.previous_environment)
    finally:
        restore_environment(previous)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children() -> dict[int, list[int]]:
    """Every process's children, by parent pid (from /proc; empty where there is none)."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The name (field 2) may hold spaces and parentheses: the parent pid follows its last ")".
            parent = int(entry.read_text().rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry.parent.name))
    return tree


def _frozen_tree(root: int) -> list[int]:
    """``root`` and its descendants, each stopped (SIGSTOP) before its children are looked up, so none
    acts or starts another process before they are killed; the root first."""
    frozen: list[int] = []
    waiting = [root]
    while waiting:
        pid = waiting.pop()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
            frozen.append(pid)
        if not waiting:
            known, tree = set(frozen), _children()
            waiting = [child for pid in frozen for child in tree.get(pid, []) if child not in known]
    return frozen


class DevHostProcess:
    """`python -m devhost` as a subprocess on a state file, for crash tests."""

    def __init__(
        self,
        app_dir: str | Path,
        state: Path,
        port: int | None = None,
        extra_args: list[str] | None = None,
        log_path: Path | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.settings = dict(settings or {})
        self.state = Path(state)
        self.port = port or free_port()
        self.extra_args = extra_args or []
        self.log_path = log_path or self.state.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The subprocess host's public origin."""
        return f"http://localhost:{self.port}"  # devhost's own origin (DevHost.base_url)

    def start(self, timeout: float = 30.0) -> DevHostProcess:
        """Start ``python -m devhost`` on the app and wait until its port accepts connections (its output
        goes to the log file)."""
        repo = Path(__file__).resolve().parent.parent
        inherited = {k: v for k, v in os.environ.items() if _provided_by_hosts[k] <= 0}
        env = {
            **inherited,
            **self.settings,
            "PYTHONPATH": str(repo) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()/kill9()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devhost",
                "--app-dir",
                str(self.app_dir),
                "--port",
                str(self.port),
                "--state",
                str(self.state),
                *self.extra_args,
            ],
            cwd=str(repo),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"devhost exited with {self.proc.returncode}; see {self.log_path}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return self
            time.sleep(0.05)
        self.kill9()
        raise TimeoutError(f"devhost did not open port {self.port}; see {self.log_path}")

    def kill9(self) -> None:
        """Kill the host and every process under it with SIGKILL (a crash, for recovery tests), as a machine
        or container that dies takes them all: a child left alive (a stdio MCP server starts in a session
        of its own) could still act on a request the dead host had written to it."""
        if self.proc is not None and self.proc.poll() is None:
            for pid in _frozen_tree(self.proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait()
        self._close_log()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the host with SIGTERM, killing it when it does not exit within ``timeout``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        self._close_log()

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
            self._log = None
