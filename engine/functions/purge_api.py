"""Purging runs: a finished run's history and its streams at once, and the sweep of streams whose run was
purged around the workflow API.

``DELETE .../runs/{instanceId}`` purges the run through the client seam and then its streams (history
first: were the purge refused, the run would keep its streams). Purges that bypass the API (the
management API, an SDK client) leave the streams in the store, unread (the stream route reads only the
current execution's); ``sweep_streams`` removes them, run by the Functions app's timer
(``WorkflowApp``) and by ``python -m engine serve``'s periodic task.
"""

from __future__ import annotations

import azure.functions as func

from engine.core.streams import stream_store
from engine.durable.admission import run_nonce_in
from engine.durable.client import DurableClient, all_instances
from engine.durable.inner_orchestrations import inner_prefix, is_inner
from engine.functions.api_models import RunPurged
from engine.functions.http_json import HttpError, check_instance_id, json_response
from engine.functions.workflow_api import WorkflowApi
from engine.streams.sweep import Current, Lookup, Swept, sweep


async def purge_run(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``DELETE .../runs/{instanceId}``: a finished run's history and streams; 409 while it runs."""
    workflow = api.workflow(req)
    instance_id = check_instance_id(req.route_params.get("instanceId", ""))
    status = await api.runs.status_of(workflow, instance_id, client)
    if not status.finished:
        raise HttpError(
            409,
            f"run {instance_id!r} is {status.runtime}: only a finished run can be purged "
            "(terminate it first)",
            field="instanceId",
        )
    listed = await all_instances(client, with_input=True, prefix=inner_prefix(instance_id))
    inner = [s for s in listed if is_inner(s, instance_id, workflow.name)]
    running = [s.instance_id for s in inner if not s.finished]
    if running:
        raise HttpError(
            409,
            f"run {instance_id!r} has {len(running)} orchestration(s) of its own still running "
            f"({running[0]!r}): they end soon after the run's terminate; purge it then",
            field="instanceId",
        )
    await client.purge(instance_id)
    for status in inner:  # its partitions' and agent steps' histories (agents' conversations) go with it
        await client.purge(status.instance_id)
    chunks = await stream_store().purge(instance_id)
    purged = RunPurged(
        purged=True, instanceId=instance_id, streamChunks=chunks, innerOrchestrations=len(inner)
    )
    return json_response(purged.model_dump())


def client_lookup(client: DurableClient) -> Lookup:
    """The sweep's view of the backend through the client seam: the run's execution, None when it is gone."""

    async def lookup(instance_id: str) -> Current | None:
        status = await client.status(instance_id, with_input=True)
        return None if status is None else Current(run_nonce_in(status.input))

    return lookup


async def sweep_streams(client: DurableClient) -> Swept:
    """One sweep of the process's stream store against ``client``'s backend."""
    return await sweep(stream_store(), client_lookup(client))


__all__ = ["client_lookup", "purge_run", "sweep_streams"]
