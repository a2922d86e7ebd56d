"""Assembles a running host: settings, the indexed app, store, task hub, HTTP server."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from devhost.config.approval_signing_key import offer_signing_key, serves_workflows
from devhost.config.errors import DevHostError
from devhost.config.host_clock import Clock
from devhost.config.host_settings import (
    HostSettings,
    apply_environment,
    load_host_json,
    load_local_settings,
    request_body_limit,
    restore_environment,
)
from devhost.console import host_logs
from devhost.durable.task_hub import TaskHub
from devhost.durable.task_hub_store import MemoryStore, SqliteStore, Store
from devhost.functions.binding_support import refusal_message
from devhost.functions.indexing import FunctionIndex, load_and_index
from devhost.http.easy_auth import WARNING as EASY_AUTH_WARNING
from devhost.http.easy_auth import apply_easy_auth, easy_auth_simulated
from devhost.http.function_keys import Keys, load_or_create_keys, provide_keys_setting
from devhost.http.http_routes import RouteTable, RouteTemplateError
from devhost.http.http_server import HttpServer, InternalServer
from devhost.http.malformed_requests import JsonErrorsAppRunner
from devhost.http.mcp_server import MCP_PATH, McpServer
from devhost.management.client_binding import client_binding_json, close_sdk_client_session
from devhost.management.management_api import ManagementApi
from devhost.triggers.trigger_services import Triggers, storage_warnings, wrap_storage_bindings
from devhost.worker.invocation import Invoker


@dataclass
class LoadedApp:
    """The app as loaded for a host: its settings, its functions indexed, and the environment it changed."""

    settings: HostSettings
    index: FunctionIndex
    # Where the approval signing key comes from, for the start-up log; None: the app serves no workflows.
    signing_key_note: str | None
    previous_environment: dict[str, str | None]  # what loading the app changed, to restore it
    simulate_easy_auth: bool = False  # the flag, else DEVHOST_SIMULATE_EASY_AUTH (see easy_auth)
    # The settings devhost itself provided for this app (not the app's settings): the kept signing key,
    # WEBSITE_AUTH_ENABLED when Easy Auth is simulated.
    provided: frozenset[str] = frozenset()


def load_app(
    app_dir: Path,
    state_folder: Path | None,
    *,
    simulate_easy_auth: bool | None = None,
    module_name: str | None = None,
) -> LoadedApp:
    """What the host does before it starts: export local.settings.json Values (the environment wins),
    offer the approval signing key (kept in ``state_folder``; None: in memory), decide whether Easy Auth
    is simulated (``simulate_easy_auth``, else the DEVHOST_SIMULATE_EASY_AUTH setting; simulated, it sets
    WEBSITE_AUTH_ENABLED=true), read host.json, import function_app.py (as ``module_name``; None: a name of
    its own), index its functions, and keep the key only if the app serves workflows
    (approval_signing_key). On an error the environment is restored."""
    previous = apply_environment(load_local_settings(app_dir))
    offer = None
    try:
        offer = offer_signing_key(state_folder)
        easy_auth = easy_auth_simulated(simulate_easy_auth)
        previous_auth = apply_easy_auth(easy_auth)
        previous = {**previous_auth, **previous}  # the older value of a key set twice is the one to restore
        settings = load_host_json(app_dir)
        index = load_and_index(app_dir, module_name)
        note, previous_key = offer.settle(serves_workflows(index.activities))
        offer = None
        previous = {**previous_key, **previous}
        provided = frozenset(previous_key) | frozenset(previous_auth)
        return LoadedApp(settings, index, note, previous, easy_auth, provided)
    except BaseException:
        if offer is not None:
            restore_environment(offer.previous)
        restore_environment(previous)
        raise


HOSTNAME_SETTING = "WEBSITE_HOSTNAME"
STATE_FOLDER_SETTING = "DEVHOST_STATE_FOLDER"


async def _listen(runner: web.AppRunner, port: int, *, what: str) -> int:
    """Listen on 127.0.0.1:``port`` (0: any free port); the port listened on."""
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise DevHostError(f"port {port} is already in use (pass --port to choose another)") from None
        raise DevHostError(f"cannot listen on 127.0.0.1:{port} ({what}): {exc.strerror or exc}") from None
    server = site._server
    if server is not None and getattr(server, "sockets", None):
        return int(server.sockets[0].getsockname()[1])
    return port


@dataclass
class HostOptions:
    """What a host is started with: the app folder, the port, where state is kept, and the flags."""

    app_dir: Path
    port: int = 7071
    state: Path | None = None  # SQLite file; None with in_memory
    in_memory: bool = False
    require_keys: bool = False
    max_body_bytes: int | None = None  # None: the FUNCTIONS_REQUEST_BODY_SIZE_LIMIT app setting, or 100 MB
    simulate_easy_auth: bool = False  # pass client-sent x-ms-client-principal headers through (easy_auth)


class DevHost:
    """A running local host of one app: the task hub, the HTTP listeners and the trigger listeners."""

    def __init__(
        self, options: HostOptions, settings: HostSettings, index: FunctionIndex, clock: Clock | None = None
    ) -> None:
        self.options = options
        self.settings = settings
        self.index = index
        self.clock = clock or Clock()
        self.port = options.port
        self.rpc_base_url = ""  # the internal listener's durable client API, once started
        self.keys: Keys | None = None
        self.task_hub: TaskHub | None = None
        self._runner: web.AppRunner | None = None
        self._internal_runner: web.AppRunner | None = None
        self._previous_environment: dict[str, str | None] = {}
        self._store: Store | None = None
        self._invoker: Invoker | None = None
        self.triggers: Triggers | None = None
        wrap_storage_bindings(index, settings)
        self.routes = RouteTable(settings.route_prefix)
        _check_tool_names(index)
        for fn in index.http:
            try:
                self.routes.add(fn.route, fn.methods, fn)
            except RouteTemplateError as exc:
                raise DevHostError(f"function '{fn.name}': {exc}") from None

    @property
    def base_url(self) -> str:
        """devhost's one public origin, as ``func start``'s (and WEBSITE_HOSTNAME, which the app builds its
        links from): management and check-status links name it. It listens on 127.0.0.1."""
        return f"http://localhost:{self.port}"

    @property
    def provided_environment(self) -> frozenset[str]:
        """The settings the running host provided for its app (WEBSITE_HOSTNAME when unset)."""
        return frozenset(self._previous_environment)

    def client_binding(self) -> str:
        """The JSON a ``durable_client_input`` parameter receives, naming this host's URLs and keys."""
        return client_binding_json(
            self.base_url, self.settings.hub_name, self.keys.durable if self.keys else None, self.rpc_base_url
        )

    async def start(self) -> None:
        """Start everything: Azurite when needed, the store and task hub, the HTTP listeners, the trigger
        listeners; whatever started is stopped again when a later part fails."""
        opts = self.options
        body_limit = request_body_limit(opts.max_body_bytes)
        state_folder = None if opts.in_memory or opts.state is None else opts.state.parent
        if opts.require_keys:
            self.keys = load_or_create_keys(state_folder)
        self._previous_environment.update(provide_keys_setting(opts.require_keys))
        self.triggers = Triggers(self.index, self.settings, opts.app_dir, state_folder)
        try:
            # On the loop's own thread, which lives as long as the host: Azurite ends with it (azurite).
            self.triggers.start_azurite()
        finally:
            self._previous_environment.update(self.triggers.previous_environment)
        self._store = MemoryStore() if opts.in_memory or opts.state is None else SqliteStore(opts.state)
        threads = max(8, self.settings.max_concurrent_activities)
        self._invoker = Invoker(str(opts.app_dir), threads)
        self.task_hub = TaskHub(
            self.index, self.settings, self._store, self.clock, self._invoker, self.client_binding
        )
        management = ManagementApi(
            self.task_hub,
            self.settings.hub_name,
            self.keys.durable if self.keys else None,
            lambda: self.base_url,
        )
        server = HttpServer(
            self.routes,
            self._invoker,
            management,
            self.client_binding,
            self.keys,
            max_body_bytes=body_limit,
            simulate_easy_auth=opts.simulate_easy_auth,
            mcp=McpServer(self.index.mcp_tools, self._invoker, self.client_binding, self.keys)
            if self.index.mcp_tools
            else None,
            http_streams=self.index.http_streams,
        )
        internal = InternalServer(management, max_body_bytes=body_limit)
        # Requests aiohttp cannot parse are answered as JSON too, never quoting them (malformed_requests).
        self._runner = JsonErrorsAppRunner(server.app, access_log=None, handle_signals=False)
        self._internal_runner = JsonErrorsAppRunner(internal.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await self._internal_runner.setup()
        try:
            # SO_REUSEADDR: a restart right after kill -9 must not trip over TIME_WAIT sockets (a live
            # listener on the port still makes bind fail, which is the "port in use" error).
            self.port = await _listen(self._runner, opts.port, what="port")
            # The internal listener: 127.0.0.1 only, a port of its own (any free one).
            rpc_port = await _listen(self._internal_runner, 0, what="the internal listener's port")
        except BaseException:
            await self._runner.cleanup()
            await self._internal_runner.cleanup()
            self._store.close()
            await self.triggers.stop()
            raise
        self.rpc_base_url = f"http://127.0.0.1:{rpc_port}{internal.path}"
        # Where devhost keeps its state, for an app that keeps durable files of its own beside it (the
        # engine's streams); unset when the host keeps its state in memory.
        if state_folder is not None and not os.environ.get(STATE_FOLDER_SETTING):
            self._previous_environment[STATE_FOLDER_SETTING] = os.environ.get(STATE_FOLDER_SETTING)
            os.environ[STATE_FOLDER_SETTING] = str(state_folder.resolve())
        # As the Functions host does; the app builds absolute links from it.
        if not os.environ.get(HOSTNAME_SETTING):
            self._previous_environment[HOSTNAME_SETTING] = os.environ.get(HOSTNAME_SETTING)
            os.environ[HOSTNAME_SETTING] = f"localhost:{self.port}"
        if opts.simulate_easy_auth:
            host_logs.logger.warning("%s", EASY_AUTH_WARNING)
        provider_note = self.settings.storage_provider.note()
        if provider_note is not None:
            host_logs.logger.warning("%s", provider_note)
        for name, refused in sorted(self.index.refused.items()):
            host_logs.logger.warning("%s", refusal_message(name, refused))
        for warning in storage_warnings(self.index):
            host_logs.logger.warning("%s", warning)
        # Start the task hub only once the port answers: recovered work may call back into the host.
        await self.task_hub.start()
        # Timers, queues and blobs last: what they run may start orchestrations.
        try:
            await self.triggers.start_listeners(self.clock, self._invoker, self.client_binding)
        except BaseException:
            await self.stop()  # a schedule that does not parse, a queue that cannot be created
            raise

    async def stop(self) -> None:
        """Stop everything started, and give the environment back as it was."""
        if self.triggers is not None:
            await self.triggers.stop()
        if self.task_hub is not None:
            await self.task_hub.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._internal_runner is not None:
            await self._internal_runner.cleanup()
        restore_environment(self._previous_environment)
        self._previous_environment = {}
        await close_sdk_client_session()
        if self._invoker is not None:
            self._invoker.close()
        if self._store is not None:
            self._store.close()

    def banner(self) -> str:
        """The functions as ``func start`` lists them: HTTP ones with URLs, then the others by trigger."""
        lines = ["", "Functions:", ""]
        prefix = f"/{self.settings.route_prefix}" if self.settings.route_prefix else ""
        for fn in sorted(self.index.http, key=lambda f: f.name):
            methods = ",".join(fn.methods) if fn.methods else "GET,POST,PUT,DELETE,HEAD,PATCH,OPTIONS"
            lines.append(f"\t{fn.name}: [{methods}] http://localhost:{self.port}{prefix}/{fn.route}")
        lines.append("")
        for kind, names in (
            ("orchestrationTrigger", self.index.orchestrators),
            ("activityTrigger", self.index.activities),
            ("entityTrigger", self.index.entities),
        ):
            for name in sorted(names):
                lines.append(f"\t{name}: {kind}")
        for target in sorted(self.index.listened, key=lambda t: t.name):
            lines.append(f"\t{target.name}: {target.trigger_type}")
        for tool in sorted(self.index.mcp_tools, key=lambda t: t.name):
            lines.append(f"\t{tool.name}: mcpToolTrigger (tool {tool.tool_name})")
        if self.index.mcp_tools:
            lines += [
                "",
                f"MCP server: http://localhost:{self.port}{MCP_PATH} (streamable HTTP), {MCP_PATH}/sse (SSE)",
            ]
        if self.index.refused:
            lines += ["", "Not run by devhost (bindings it does not run; calls fail naming them):", ""]
            for name, refused in sorted(self.index.refused.items()):
                lines.append(f"\t{name}: {', '.join(r.describe() for r in refused)}")
        if self.keys is not None:
            lines += [
                "",
                "Keys (--require-keys):",
                f"\tmaster: {self.keys.master}",
                f"\tfunction (default): {self.keys.function}",
                f"\tsystem (durabletask_extension): {self.keys.durable}",
                f"\tsystem (mcp_extension): {self.keys.mcp}",
            ]
        return "\n".join(lines) + "\n"


def _check_tool_names(index: FunctionIndex) -> None:
    """Two functions offering one tool name stop devhost at start: a call could reach either."""
    seen: dict[str, str] = {}
    for tool in index.mcp_tools:
        other = seen.setdefault(tool.tool_name, tool.name)
        if other != tool.name:
            raise DevHostError(
                f"functions '{other}' and '{tool.name}' both offer the MCP tool '{tool.tool_name}'"
            )
