"""The Functions blueprint: one orchestrator per workflow, the step activity, and the workflow HTTP API.

Only documented ``azure-functions`` / ``azure-functions-durable`` decorators are used, so the same app
runs under devhost, ``func start`` and on Azure. HTTP routes are registered from the route table
(``routes.py``), which the OpenAPI document is generated from too; each route names its handler
(``reads_api``, ``approvals_api``, ``lifecycle_api``) and ``dispatch.answer`` calls it. Every workflow is
an MCP tool too (the host's MCP extension, ``mcp_tools.py``), answered through the same routes. A timer
sweeps the streams of runs purged around the API (``purge_api.sweep_streams``), on the NCRONTAB schedule
of ``ENGINE_STREAMS_SWEEP_SCHEDULE`` (every 15 minutes by default).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from engine.core.app_settings import flag
from engine.core.graph import Workflow
from engine.core.subworkflow import with_subworkflows
from engine.core.versions import WorkflowVersions
from engine.durable.answers import VERIFY_ACTIVITY, verify_answer
from engine.durable.call_activity import run_step_call
from engine.durable.context import AzureContext
from engine.durable.loop_messages import CALL_ACTIVITY, LOOP_ORCHESTRATOR
from engine.durable.loop_orchestration import orchestrate_loop
from engine.durable.map_partition import orchestrate_partition
from engine.durable.orchestrator import (
    DEFAULT_CONTINUE_EVERY,
    STEP_ACTIVITY,
    orchestrate,
)
from engine.durable.partition import PARTITION_ORCHESTRATOR
from engine.durable.step_activity import run_step
from engine.functions.azure_client import AzureDurableClient
from engine.functions.dispatch import answer
from engine.functions.event_stream import settled
from engine.functions.identity import check_identity_settings
from engine.functions.mcp_tools import McpTool, call_tool, workflow_tools
from engine.functions.purge_api import sweep_streams
from engine.functions.routes import ROUTES, Route
from engine.functions.settings import check_signing_key
from engine.functions.workflow_api import WorkflowApi
from engine.streams.choice import install as install_stream_store
from engine.streams.sweep import DEFAULT_SCHEDULE, SCHEDULE_SETTING
from engine.telemetry.setup import configure_from_environment

log = logging.getLogger("engine.http")
SWEEP_FUNCTION = "engine_streams_sweep"

HTTP_STREAMS = "WORKFLOW_HTTP_STREAMS"  # the app setting that serves the routes with HTTP streams
# The setting that starts the Python worker's HTTP server for HTTP streams (Python 3.9-3.12 workers).
INIT_INDEXING = "PYTHON_ENABLE_INIT_INDEXING"


class WorkflowApp:
    """Everything the Functions app needs for a set of workflows, as a ``df.Blueprint``."""

    def __init__(
        self,
        workflows: Iterable[Workflow],
        *,
        auth_level: func.AuthLevel = func.AuthLevel.FUNCTION,
        route_prefix: str = "workflows",
        activity_name: str = STEP_ACTIVITY,
        continue_every: int = DEFAULT_CONTINUE_EVERY,
        mcp_tools: bool = True,
        http_streams: bool | None = None,
    ) -> None:
        """``mcp_tools``: register every workflow as MCP tools too (the host's MCP extension, which the
        extension bundle 4.x carries); False for a host without it. ``http_streams``: serve the HTTP routes
        with Azure Functions' HTTP streams (``engine.functions.http_streams``: Server-Sent Events held
        open), which every HTTP function of the Functions app then uses; None: the
        ``WORKFLOW_HTTP_STREAMS`` app setting (off by default)."""
        # Sub-workflows are served too: their runs need their orchestrator, and people their routes.
        self.versions = WorkflowVersions.of(with_subworkflows(workflows))
        self.workflows: dict[str, Workflow] = self.versions.newest()
        self.route_prefix = route_prefix
        self.activity_name = activity_name
        if continue_every < 1:
            message = f"continue_every must be at least 1 (supersteps per execution), not {continue_every}"
            raise ValueError(message)
        self.continue_every = continue_every
        self.http_streams = flag(HTTP_STREAMS, False) if http_streams is None else http_streams
        if self.http_streams and not flag(INIT_INDEXING, False):
            log.error(
                "%s is on but %s is not: the Python worker starts no HTTP server for the streams, and "
                "the app's HTTP requests will not complete; set %s=1",
                HTTP_STREAMS,
                INIT_INDEXING,
                INIT_INDEXING,
            )
        self.api = WorkflowApi(
            self.versions,
            route_prefix=route_prefix,
            activity_name=activity_name,
            continue_every=continue_every,
            anonymous_api=auth_level == func.AuthLevel.ANONYMOUS,
            routes=ROUTES,
        )
        check_signing_key()
        check_identity_settings()
        configure_from_environment()
        install_stream_store()  # chosen from the settings at each use: devhost sets its own after import
        self.blueprint = df.Blueprint(http_auth_level=auth_level)
        for name in self.workflows:
            self._register_orchestrator(name)
        self._register_partition()
        self._register_loop()
        self._register_activity()
        self._register_sweep()
        for route in ROUTES:
            self._register_route(route)
        for tool in workflow_tools(self.workflows) if mcp_tools else ():
            self._register_tool(tool)

    # --- durable functions -------------------------------------------------------------------------

    def _register_orchestrator(self, name: str) -> None:
        """One orchestrator per workflow name; each run replays on the version it started on."""
        activity, every, versions = self.activity_name, self.continue_every, self.versions

        def orchestrator(context: df.DurableOrchestrationContext) -> Any:
            return (
                yield from orchestrate(
                    versions, AzureContext(context), activity=activity, continue_every=every, name=name
                )
            )

        orchestrator.__name__ = name
        bp = self.blueprint
        bp.function_name(name=name)(
            bp.orchestration_trigger(context_name="context", orchestration=name)(orchestrator)
        )

    def _register_partition(self) -> None:
        """The orchestrator of a map's partitions (``engine.durable.partition``)."""
        activity, versions = self.activity_name, self.versions

        def partition(context: df.DurableOrchestrationContext) -> Any:
            return (yield from orchestrate_partition(versions, AzureContext(context), activity=activity))

        partition.__name__ = PARTITION_ORCHESTRATOR
        bp = self.blueprint
        bp.function_name(name=PARTITION_ORCHESTRATOR)(
            bp.orchestration_trigger(context_name="context", orchestration=PARTITION_ORCHESTRATOR)(partition)
        )

    def _register_loop(self) -> None:
        """The orchestrator of a looping step (an agent) and its call activity
        (``engine.durable.loop_orchestration``), beside the map partitions'."""
        versions = self.versions

        def loop(context: df.DurableOrchestrationContext) -> Any:
            return (yield from orchestrate_loop(versions, AzureContext(context)))

        loop.__name__ = LOOP_ORCHESTRATOR
        bp = self.blueprint
        bp.function_name(name=LOOP_ORCHESTRATOR)(
            bp.orchestration_trigger(context_name="context", orchestration=LOOP_ORCHESTRATOR)(loop)
        )

        async def call(request: Any) -> dict[str, Any]:
            return await run_step_call(versions, request)

        bp.function_name(name=CALL_ACTIVITY)(bp.activity_trigger(input_name="request")(call))

    def _register_activity(self) -> None:
        versions = self.versions

        async def step(request: Any) -> dict[str, Any]:
            return await run_step(versions, request)

        bp = self.blueprint
        bp.function_name(name=self.activity_name)(bp.activity_trigger(input_name="request")(step))

        async def verify(request: Any) -> dict[str, Any]:
            return await verify_answer(request)

        bp.function_name(name=VERIFY_ACTIVITY)(bp.activity_trigger(input_name="request")(verify))

    def _register_sweep(self) -> None:
        """The stream sweep (``engine.streams.sweep``) on a timer: streams of runs purged around the API."""
        bp = self.blueprint
        # Read when the app is indexed (app settings are in the environment by then): NCRONTAB, six fields.
        schedule = os.environ.get(SCHEDULE_SETTING, "").strip() or DEFAULT_SCHEDULE

        async def sweep(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
            await sweep_streams(AzureDurableClient(client))

        wrapped = bp.durable_client_input(client_name="client")(sweep)
        bp.function_name(name=SWEEP_FUNCTION)(bp.timer_trigger(arg_name="timer", schedule=schedule)(wrapped))

    # --- HTTP API -------------------------------------------------------------------------------------

    def _register_route(self, route: Route) -> None:
        bp = self.blueprint
        endpoint = self._streamed_endpoint(route) if self.http_streams else self._endpoint(route)
        wrapped = (
            bp.durable_client_input(client_name="client")(endpoint) if route.durable_client else endpoint
        )
        extra = {}
        if route.anonymous:
            extra["auth_level"] = func.AuthLevel.ANONYMOUS
        elif route.admin:
            extra["auth_level"] = func.AuthLevel.ADMIN
        bp.function_name(name=route.function_name)(
            bp.route(route=route.resolved(self.route_prefix), methods=[route.method], **extra)(wrapped)
        )

    def _endpoint(self, route: Route) -> Any:
        """A route's HTTP function as the classic worker calls it: a whole body answered, so Server-Sent
        Events are answered in their finite form (``event_stream.settled``)."""
        api = self.api
        if route.durable_client:

            async def endpoint(
                req: func.HttpRequest, client: df.DurableOrchestrationClient
            ) -> func.HttpResponse:
                # Handlers reach the task hub through the client seam only.
                return await settled(await answer(api, route, req, AzureDurableClient(client)))

            return endpoint

        async def endpoint_plain(req: func.HttpRequest) -> func.HttpResponse:
            return await settled(await answer(api, route, req, None))

        return endpoint_plain

    def _streamed_endpoint(self, route: Route) -> Any:
        """A route's HTTP function with HTTP streams (FastAPI's Request; Server-Sent Events held open)."""
        from engine.functions import http_streams  # importing it turns HTTP streams on for the whole app

        return http_streams.endpoint(self.api, route)

    # --- MCP tools ------------------------------------------------------------------------------------

    def _register_tool(self, tool: McpTool) -> None:
        """One MCP tool (``mcp_tool_trigger``, the host's MCP extension), answered through its route."""
        bp = self.blueprint
        api = self.api

        async def tool_call(context: str, client: df.DurableOrchestrationClient) -> str:
            return await call_tool(api, tool, context, AzureDurableClient(client))

        wrapped = bp.durable_client_input(client_name="client")(tool_call)
        trigger = bp.mcp_tool_trigger(
            arg_name="context",
            tool_name=tool.name,
            description=tool.description,
            tool_properties=tool.tool_properties(),
        )
        bp.function_name(name=f"mcp_{tool.name}")(trigger(wrapped))
