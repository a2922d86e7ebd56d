"""Azurite, the official Storage emulator, run by devhost for apps whose storage bindings use
``UseDevelopmentStorage=true``: found on the machine (never downloaded), started on free ports with its
data in the state folder, stopped with the host."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from devhost.config.errors import DevHostError

# Where a developer may have put it: the setting wins, then a project-local `npm install azurite` (in the
# app folder or the folder devhost runs from; under node_modules/, or under .tools/node_modules/, where
# `npm install --prefix .tools` puts it: the project's `make test` does), then `npm install -g azurite` on
# PATH.
AZURITE_SETTING = "DEVHOST_AZURITE"
DEV_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (public, the same in every emulator).
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at \S+:(\d+)")
HOW_TO_GET = (
    "Install it with `npm install -g azurite@3.35.0` (or `npm install --prefix .tools azurite@3.35.0` in "
    f"the app folder, which is what this project's `make test` does), or point the {AZURITE_SETTING} "
    "setting at its executable; Node.js and npm come from https://nodejs.org."
)
_LOCAL = (Path("node_modules", ".bin", "azurite"), Path(".tools", "node_modules", ".bin", "azurite"))


def find_azurite(app_dir: Path, environ: dict[str, str] | None = None) -> str | None:
    """The Azurite executable: the ``DEVHOST_AZURITE`` setting's, a local npm install in the app or current
    folder, else one on PATH; None when there is none."""
    env = os.environ if environ is None else environ
    configured = env.get(AZURITE_SETTING, "").strip()
    if configured:
        return configured if Path(configured).is_file() else None
    for folder in (app_dir, Path.cwd()):
        for place in _LOCAL:
            local = folder / place
            if local.is_file():
                return str(local)
    return shutil.which("azurite", path=env.get("PATH"))


def _bound_to_us(args: list[str]) -> list[str]:
    """On Linux, Azurite is started through util-linux's setpriv so it gets SIGTERM when the thread that
    started it ends: a devhost killed with -9 leaves no emulator behind holding its ports and data."""
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "TERM", *args] if setpriv else args


@dataclass(frozen=True)
class Endpoints:
    """The ports a running Azurite serves blobs, queues and tables on."""

    blob: int
    queue: int
    table: int

    def connection_string(self) -> str:
        """The explicit form of UseDevelopmentStorage=true for these ports: what the Storage SDKs, the
        app's own included, use to reach this Azurite."""
        base = "http://127.0.0.1"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={base}:{self.blob}/{DEV_ACCOUNT};QueueEndpoint={base}:{self.queue}/{DEV_ACCOUNT};"
            f"TableEndpoint={base}:{self.table}/{DEV_ACCOUNT};"
        )


class Azurite:
    """One Azurite process. ``location``: its data folder; None keeps the data in memory."""

    def __init__(self, executable: str, location: Path | None) -> None:
        self.executable = executable
        self.location = location
        self.endpoints: Endpoints | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._output: list[str] = []

    @property
    def process(self) -> subprocess.Popen[str] | None:
        """The running Azurite process, if started."""
        return self._proc

    def start(self, timeout: float = 60.0, ports: tuple[int, int, int] = (0, 0, 0)) -> Endpoints:
        """``ports``: blob, queue, table. 0 (the default) everywhere: Azurite binds free ports itself and
        prints them, so there is no window in which another process can take a port devhost picked."""
        blob, queue, table = (str(p) for p in ports)
        args = [self.executable, "--silent", "--skipApiVersionCheck", "--disableProductStyleUrl"]
        args += ["--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1"]
        args += ["--blobPort", blob, "--queuePort", queue, "--tablePort", table]
        if self.location is None:
            args.append("--inMemoryPersistence")
        else:
            self.location.mkdir(parents=True, exist_ok=True)
            args += ["--location", str(self.location)]
        try:
            self._proc = subprocess.Popen(
                _bound_to_us(args),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        except OSError as exc:
            raise DevHostError(f"cannot start Azurite ({self.executable}): {exc.strerror or exc}") from None
        ports: dict[str, int] = {}
        ready = threading.Event()
        threading.Thread(target=self._read, args=(ports, ready), daemon=True, name="azurite-out").start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = "".join(self._output[-15:]).strip()
                raise DevHostError(f"Azurite did not start ({self.executable}):\n{tail}")
        self.endpoints = Endpoints(ports["Blob"], ports["Queue"], ports["Table"])
        return self.endpoints

    def _read(self, ports: dict[str, int], ready: threading.Event) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            if len(self._output) < 200:
                self._output.append(line)
            match = _LISTENING.search(line)
            if match:
                ports[match.group(1)] = int(match.group(2))
                if len(ports) == 3:
                    ready.set()

    def stop(self) -> None:
        """Stop Azurite (killed when it does not exit within ten seconds)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
