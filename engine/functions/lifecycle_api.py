"""The lifecycle handlers: start a run, terminate it (with its sub-workflow runs and map partitions), and
rewind a failed one."""

from __future__ import annotations

import azure.functions as func

from engine.core.graph import Workflow
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.client import DurableClient, RefusedByBackend
from engine.durable.run_snapshot import RunSnapshot
from engine.functions.http_json import HttpError, check_instance_id, json_response, read_json, validated
from engine.functions.http_params import without_key
from engine.functions.public_url import public_origin, rebased
from engine.functions.request_bodies import ReasonBody
from engine.functions.settings import engine_settings
from engine.functions.workflow_api import WorkflowApi
from engine.telemetry.runs import run_start


def _version(api: WorkflowApi, req: func.HttpRequest, workflow: Workflow) -> Workflow:
    """The version ``?version=`` names (the newest without it): 404 naming the ones served."""
    wanted = req.params.get("version")
    if wanted is None:
        return workflow
    chosen = api.versions.labelled(workflow.name, wanted)
    if chosen is None:
        known = [w.version for w in api.versions.versions(workflow.name)]
        raise HttpError(
            404, f"workflow {workflow.name!r} has no version {wanted!r}", field="version", known=known
        )
    return chosen


async def _new_instance_id(req: func.HttpRequest, client: DurableClient) -> str | None:
    """``?instanceId=``, when the caller chooses one: valid, and not in use."""
    instance_id = req.params.get("instanceId")
    if instance_id is None:
        return None
    check_instance_id(instance_id)
    if ":" in instance_id:
        # A run's sub-workflow runs and map partitions are named "<run>:...": a run chosen so could take
        # one's place, and the run it belongs to would fail when it starts it.
        raise HttpError(
            400,
            "invalid instanceId: ':' is kept for the ids of a run's sub-workflow runs and map partitions; "
            "choose an id without it",
            field="instanceId",
        )
    if await client.status(instance_id) is not None:
        raise HttpError(409, f"instance id {instance_id!r} is already in use", field="instanceId")
    return instance_id


async def start_run(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``POST /api/workflows/{name}``: start a run on the newest version (or ``?version=``); 202 with its
    links."""
    workflow = _version(api, req, api.workflow(req))
    body = read_json(req, limit=engine_settings().max_body_bytes)
    message = validated(workflow.validate_input, body, f"input for workflow {workflow.name!r}")
    instance_id = await _new_instance_id(req, client)
    with run_start(workflow.name, workflow.version, req.headers) as traced:
        payload = OrchestratorInput.start(
            workflow.start_node.input_adapter.dump_python(message, mode="json"),
            workflow=workflow,
            traceparent=traced.traceparent,
            continue_every=api.continue_every,
        )
        # The run's graph is chosen by the version recorded in its input, not by the Durable Functions
        # orchestration version: the extension's worker versioning (on by default: CurrentOrOlder and
        # Reject, against host.json's defaultVersion) would leave every run with a version newer than
        # defaultVersion Pending. host.json versioning stays the user's own, for their plain orchestrators.
        instance_id = await client.start(workflow.name, instance_id, payload.model_dump(mode="json"))
        traced.started(instance_id)
    origin = public_origin(req)
    links = {
        k: rebased(v, origin) if k.endswith("Uri") else v
        for k, v in client.management_links(instance_id).items()
    }
    if not engine_settings().expose_system_keys:
        links = {k: without_key(v) for k, v in links.items()}
    run_uri = api.run_uri(req, workflow.name, instance_id)
    return json_response(
        {**links, "id": instance_id, "runUri": run_uri},
        status=202,
        headers={"Location": run_uri, "Retry-After": "2"},
    )


def _reason(req: func.HttpRequest) -> str | None:
    """The optional ``{"reason": "..."}`` of terminate and rewind, validated strictly."""
    body = read_json(req, required=False, limit=engine_settings().max_body_bytes)
    if body is None:
        return None
    return validated(ReasonBody.model_validate, body, "body").reason


def _accepted(
    api: WorkflowApi, req: func.HttpRequest, workflow: Workflow, instance_id: str
) -> func.HttpResponse:
    run_uri = api.run_uri(req, workflow.name, instance_id)
    return json_response(
        {"accepted": True, "instanceId": instance_id, "waitUri": f"{run_uri}?wait=30&until=finished"},
        status=202,
    )


async def terminate(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``POST .../runs/{instanceId}/terminate``: the run, its sub-workflow runs and its map partitions."""
    workflow = api.workflow(req)
    instance_id = check_instance_id(req.route_params.get("instanceId", ""))
    read = await api.runs.named(workflow, instance_id, client)
    if read.finished:
        raise HttpError(410, f"run {instance_id!r} has finished ({read.status.runtime})")
    reason = _reason(req) or "terminated through the workflow API"
    await client.terminate(instance_id, reason)
    # Durable Functions leaves a terminated run's sub-orchestrations running: its sub-workflow runs go with
    # it, so no one answers an approval for a run that no longer exists.
    await _terminate_children(api, client, read.snapshot, f"its parent run {instance_id} was terminated")
    for partition in await api.partition_reads.unfinished(client, read.snapshot):
        await client.terminate(partition, f"its run {instance_id} was terminated")
    for loop in await api.loop_reads.unfinished(client, read.snapshot):  # agent steps' orchestrations
        await client.terminate(loop, f"its run {instance_id} was terminated")
    return _accepted(api, req, workflow, instance_id)


async def _terminate_children(
    api: WorkflowApi, client: DurableClient, snapshot: RunSnapshot | None, reason: str, depth: int = 0
) -> None:
    async for instance_id, _, _, read in api.runs.child_reads(client, snapshot, depth):
        if read is None:
            continue  # finished already
        await client.terminate(instance_id, reason)
        await _terminate_children(api, client, read.snapshot, reason, depth + 1)


async def rewind(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``POST .../runs/{instanceId}/rewind``: a failed run tries its failed steps again."""
    workflow = api.workflow(req)
    instance_id = check_instance_id(req.route_params.get("instanceId", ""))
    read = await api.runs.named(workflow, instance_id, client)
    runtime = read.status.runtime
    if runtime != "Failed":
        code = 410 if read.finished else 409
        raise HttpError(code, f"run {instance_id!r} is {runtime}: only a failed run can be rewound")
    if read.version_problem is not None:
        # Rewound now, it would fail again at once: the graph it started on must be deployed first.
        raise HttpError(409, f"deploy the run's version before rewinding it: {read.version_problem}")
    reason = _reason(req) or "rewound through the workflow API"
    try:
        await client.rewind(instance_id, reason)
    except RefusedByBackend as exc:
        # The host refused (a sub-orchestration of the run that is still running, or the run moved on
        # meanwhile), with its reason.
        raise HttpError(409, f"run {instance_id!r} cannot be rewound: {exc}") from exc
    return _accepted(api, req, workflow, instance_id)


__all__ = ["rewind", "start_run", "terminate"]
