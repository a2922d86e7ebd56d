"""What a running host adds for timer and Storage functions: the Storage bindings wrapped around the
functions that declare them, Azurite when a storage connection says ``UseDevelopmentStorage=true``, and
one listener per timer, queue or blob trigger."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from devhost.config.errors import DevHostError
from devhost.config.host_clock import Clock
from devhost.config.host_settings import HostSettings
from devhost.console import host_logs
from devhost.functions.indexing import FunctionIndex
from devhost.storage import development_storage, storage_account
from devhost.storage.azurite import HOW_TO_GET, Azurite, Endpoints, find_azurite
from devhost.storage.storage_bindings import STORAGE_TRIGGERS, bind_storage
from devhost.storage.storage_io import rowkey_warnings
from devhost.triggers.blob_trigger import BlobListener
from devhost.triggers.queue_trigger import QueueListener
from devhost.triggers.timer_trigger import TimerListener
from devhost.worker.invocation import Invoker


def wrap_storage_bindings(index: FunctionIndex, settings: HostSettings) -> None:
    """Give every function with blob / queue / table bindings devhost's binder in its place."""
    encoding = settings.queues.message_encoding
    for target in [*index.http, *index.activities.values(), *index.listened]:
        if target.storage:
            target.fn = bind_storage(target.fn, target.trigger_param, target.storage, encoding)


def storage_users(index: FunctionIndex) -> Iterator[tuple[str, str | None]]:
    """(function, connection) for every Storage binding and trigger of the app."""
    for target in [*index.http, *index.activities.values(), *index.listened]:
        for spec in target.storage:
            yield target.name, spec.spec.get("connection")
    for target in index.listened:
        if target.trigger_type in STORAGE_TRIGGERS:
            yield target.name, target.trigger.get("connection")


def storage_warnings(index: FunctionIndex) -> list[str]:
    """Start-up warnings about Storage bindings that do not do what they seem to (on Azure either)."""
    found: list[str] = []
    for target in [*index.http, *index.activities.values(), *index.listened]:
        found += rowkey_warnings(target.name, target.storage)
    return found


def host_id(app_dir: Path) -> str:
    """The host id naming its blob receipts: the app folder's name, as an id the host would accept."""
    return (re.sub(r"[^a-z0-9-]", "-", app_dir.name.lower()).strip("-") or "devhost")[:32]


def _development_settings(users: list[tuple[str, str | None]]) -> list[str]:
    """The settings of the Storage functions' connections that say UseDevelopmentStorage=true, sorted.
    Every connection is read first: as the host does when it starts a listener or indexes a binding, an
    unset connection is an error at start-up, not at the first message."""
    for _, connection in users:
        storage_account.connection_string(connection)
    return sorted(
        {storage_account.setting_name(c) for _, c in users if storage_account.uses_development_storage(c)}
    )


def _without_azurite(users: list[tuple[str, str | None]], dev_settings: list[str]) -> None:
    """No Azurite is installed: Storage bindings on development storage need it (the host does not
    start); when only the app's own Storage calls would use it, a warning says they will fail."""
    if not dev_settings:
        host_logs.logger.warning("%s", development_storage.not_installed_note())
        return
    functions = ", ".join(sorted({f for f, c in users if storage_account.uses_development_storage(c)}))
    raise DevHostError(
        f"{functions} use Storage bindings on UseDevelopmentStorage=true "
        f"({', '.join(dev_settings)}), which needs Azurite, the Storage emulator, and it is not "
        f"installed. {HOW_TO_GET}"
    )


def _announce(endpoints: Endpoints, location: Path | None, dev_settings: list[str], *, for_app: bool) -> None:
    """The start-up lines of a running Azurite: its ports and data, the settings it serves, and its
    connection string."""
    served = dev_settings
    on_well_known = (
        endpoints.blob,
        endpoints.queue,
        endpoints.table,
    ) == development_storage.WELL_KNOWN_PORTS
    if for_app and on_well_known and development_storage.SETTING not in served:
        served = [*served, development_storage.SETTING]  # reached as it is, on the well-known ports
    host_logs.logger.info(
        "Azurite: blob 127.0.0.1:%d, queue 127.0.0.1:%d, table 127.0.0.1:%d (data: %s) for %s",
        endpoints.blob,
        endpoints.queue,
        endpoints.table,
        location or "in memory",
        ", ".join(served),
    )
    # Azurite's well-known development key, not a secret: tools (Storage Explorer, az storage) need it.
    host_logs.logger.info("Azurite connection string: %s", endpoints.connection_string())


class Triggers:
    """What a host starts for its timer and Storage functions: Azurite when needed, a listener per trigger."""

    def __init__(
        self, index: FunctionIndex, settings: HostSettings, app_dir: Path, state_folder: Path | None
    ):
        self.index = index
        self.settings = settings
        self.app_dir = app_dir
        self.state_folder = state_folder
        self.azurite: Azurite | None = None
        self.endpoints: Endpoints | None = None
        self._listeners: list[Any] = []
        self.previous_environment: dict[str, str | None] = {}

    def start_azurite(self) -> None:
        """Run Azurite when a storage connection the app uses is UseDevelopmentStorage=true: its Storage
        bindings' (those settings then point at it), or AzureWebJobsStorage for the app's own Storage calls
        (on the emulator's well-known ports, where that setting points already: development_storage)."""
        users = list(storage_users(self.index))
        dev_settings = _development_settings(users)
        for_app = development_storage.app_uses_development_storage()
        if not dev_settings and not for_app:
            return
        executable = find_azurite(self.app_dir)
        if executable is None:
            _without_azurite(users, dev_settings)
            return
        well_known = for_app and development_storage.well_known_ports_free()
        if not dev_settings and not well_known:
            host_logs.logger.warning("%s", development_storage.in_use_note())
            return
        location = None if self.state_folder is None else self.state_folder / "azurite"
        azurite = Azurite(executable, location)
        endpoints = self._start(azurite, well_known, fall_back=bool(dev_settings))
        if endpoints is None:
            host_logs.logger.warning("%s", development_storage.in_use_note())
            return
        self.azurite, self.endpoints = azurite, endpoints
        for name in dev_settings:
            self.previous_environment[name] = os.environ.get(name)
            os.environ[name] = endpoints.connection_string()
        _announce(endpoints, location, dev_settings, for_app=for_app)

    @staticmethod
    def _start(azurite: Azurite, well_known: bool, *, fall_back: bool) -> Endpoints | None:
        """Azurite on the well-known ports, or free ones. Ports taken between the check and the start (a
        host starting beside this one): free ports when Storage bindings need it (their settings are pointed
        at it), else none (None), as when they were taken before."""
        if not well_known:
            return azurite.start()
        try:
            return azurite.start(ports=development_storage.WELL_KNOWN_PORTS)
        except DevHostError:
            return azurite.start() if fall_back else None

    async def start_listeners(
        self, clock: Clock, invoker: Invoker, client_binding: Callable[[], str]
    ) -> None:
        """Start a listener for each timer, queue or blob function."""
        for target in self.index.listened:
            listener: Any
            if target.trigger_type == "timerTrigger":
                listener = TimerListener(target, clock, invoker, client_binding, self.state_folder)
            elif target.trigger_type == "queueTrigger":
                listener = QueueListener(target, self.settings.queues, invoker, client_binding)
            else:
                listener = BlobListener(
                    target, self.settings.queues, invoker, client_binding, host_id(self.app_dir)
                )
            self._listeners.append(listener)
            await listener.start()

    async def stop(self) -> None:
        """Stop the listeners, then Azurite."""
        listeners, self._listeners = self._listeners, []
        await asyncio.gather(*(listener.stop() for listener in listeners), return_exceptions=True)
        if self.azurite is not None:
            await asyncio.to_thread(self.azurite.stop)
            self.azurite = None
