"""Orchestration versioning with the plain azure-functions-durable SDK, after the SDK's versioning sample:
the orchestrator branches on context.version, waits for an event (the moment to redeploy with another
defaultVersion), then starts a sub-orchestration that reports the version it was given."""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    payload = json.loads(body) if body else None
    iid = await client.start_new(req.route_params["name"], None, payload, version=req.params.get("version"))
    return client.create_check_status_response(req, iid)


@app.orchestration_trigger(context_name="context")
def deployable(context: df.DurableOrchestrationContext):
    # The old path for instances created as version 1.0, the new one for any other.
    if context.version == "1.0":
        greeting = yield context.call_activity("greet_old", None)
    else:
        greeting = yield context.call_activity("greet_new", None)
    context.set_custom_status("waiting for Proceed")
    yield context.wait_for_external_event("Proceed")
    child = yield context.call_sub_orchestrator("version_of")
    return [f"Orchestration version: {context.version}", f"Suborchestration version: {child}", greeting]


@app.orchestration_trigger(context_name="context")
def version_of(context: df.DurableOrchestrationContext):
    return context.version
    yield  # unreachable: it makes the function a generator, as orchestrators are


@app.orchestration_trigger(context_name="context")
def children(context: df.DurableOrchestrationContext):
    implicit = yield context.call_sub_orchestrator("version_of")
    explicit = yield context.call_sub_orchestrator("version_of", version="0.5")
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=10, max_number_of_attempts=2)
    with_retry = yield context.call_sub_orchestrator_with_retry("version_of", retry, version="0.7")
    return {"own": context.version, "implicit": implicit, "explicit": explicit, "retry": with_retry}


@app.orchestration_trigger(context_name="context")
def renewing(context: df.DurableOrchestrationContext):
    seen = (context.get_input() or []) + [context.version]
    if len(seen) < 3:
        context.continue_as_new(seen)
        return None
    return seen
    yield  # unreachable: a generator


@app.activity_trigger(input_name="unused")
def greet_old(unused: None) -> str:
    return "Hello from the old path!"


@app.activity_trigger(input_name="unused")
def greet_new(unused: None) -> str:
    return "Hello from the new path!"
