"""The workflow HTTP API of one app: what every handler shares (its workflows, versions, route prefix and
route table), and the URLs it hands out.

The handlers themselves are plain functions, one module per concern: reads (``reads_api``), approvals
(``approvals_api``) and a run's lifecycle (``lifecycle_api``). Each takes this object, the request and
the durable client (``engine.durable.client.DurableClient``, the one way to the task hub), and reads the
run it names once, through ``run_reads``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import azure.functions as func

from engine.core.graph import Workflow
from engine.core.versions import WorkflowVersions
from engine.functions.http_json import HttpError
from engine.functions.http_params import api_base
from engine.functions.loop_reads import LoopReader
from engine.functions.partition_reads import PartitionReader
from engine.functions.run_reads import RunReader

if TYPE_CHECKING:
    from engine.functions.route_model import Route


class WorkflowApi:
    """The app's API: served workflows (every version), where its routes live, how runs are read."""

    def __init__(
        self,
        versions: WorkflowVersions,
        *,
        route_prefix: str,
        activity_name: str,
        continue_every: int,
        anonymous_api: bool = False,
        routes: Sequence[Route] = (),
    ) -> None:
        self.versions = versions
        self.anonymous_api = anonymous_api  # routes registered at the anonymous auth level (OpenAPI says)
        self.workflows = versions.newest()  # what new runs start on, and what routes name
        self.route_prefix = route_prefix
        self.activity_name = activity_name
        self.continue_every = continue_every
        self.routes = tuple(routes)  # the route table, for the OpenAPI document
        self.partition_reads = PartitionReader(versions, activity_name)
        self.loop_reads = LoopReader(
            versions, self.partition_reads
        )  # agent steps: their calls, people asked before a tool
        self.runs = RunReader(
            versions,
            self.workflows,
            self.partition_reads,
            activity=activity_name,
            continue_every=continue_every,
            loops=self.loop_reads,
        )

    def workflow(self, req: func.HttpRequest) -> Workflow:
        """The workflow the route names (its newest version): 404 naming the ones there are."""
        name = req.route_params.get("name", "")
        workflow = self.workflows.get(name)
        if workflow is None:
            raise HttpError(404, f"unknown workflow {name!r}", field="name", known=sorted(self.workflows))
        return workflow

    def base(self, req: func.HttpRequest) -> str:
        """``scheme://host/api/<prefix>`` of the app's public origin."""
        return f"{api_base(req, self.route_prefix)}/{self.route_prefix}"

    def run_uri(self, req: func.HttpRequest, workflow: str, instance_id: str) -> str:
        """The run view's URL of one run."""
        return f"{self.base(req)}/{workflow}/runs/{instance_id}"


__all__ = ["WorkflowApi"]
