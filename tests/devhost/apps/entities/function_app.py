"""A plain azure-functions-durable app with a function-based entity, orchestrations that signal and call it,
and HTTP functions that signal it and read its state through the SDK client."""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    op = context.operation_name
    if op == "add":
        value += context.get_input()
        context.set_state(value)
        context.set_result(value)
    elif op == "get":
        context.set_result(value)
    elif op == "reset":
        context.set_state(0)
    elif op == "remember":  # keeps the list of inputs it got, in order
        seen = context.get_state(lambda: [])
        context.set_state([*(seen if isinstance(seen, list) else []), context.get_input()])
    elif op == "fail":
        raise ValueError(f"counter {context.entity_key} cannot {context.get_input()}")
    elif op == "delete":
        context.destruct_on_exit()
    else:
        raise NotImplementedError(f"no operation '{op}'")


# --- orchestrations -------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def signal_then_call(context: df.DurableOrchestrationContext):
    """Signals add 1 ``n`` times, then calls add 10 and get: the results include every signal."""
    args = context.get_input()
    entity = df.EntityId("Counter", args["key"])
    for _ in range(args["n"]):
        context.signal_entity(entity, "add", 1)
    after_add = yield context.call_entity(entity, "add", 10)
    current = yield context.call_entity(entity, "get")
    return {"after_add": after_add, "current": current}


@app.orchestration_trigger(context_name="context")
def call_in_parallel(context: df.DurableOrchestrationContext):
    keys = context.get_input()
    tasks = [context.call_entity(df.EntityId("Counter", k), "add", 1) for k in keys]
    return (yield context.task_all(tasks))


@app.orchestration_trigger(context_name="context")
def call_that_fails(context: df.DurableOrchestrationContext):
    try:
        yield context.call_entity(df.EntityId("Counter", "f"), "fail", "divide")
    except Exception as exc:  # the SDK raises the operation's error in the orchestrator
        return {"caught": str(exc), "type": type(exc).__name__}
    return "not raised"


@app.orchestration_trigger(context_name="context")
def call_that_fails_uncaught(context: df.DurableOrchestrationContext):
    yield context.call_entity(df.EntityId("Counter", "g"), "fail", "fly")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def call_unknown_entity(context: df.DurableOrchestrationContext):
    yield context.call_entity(df.EntityId("Nobody", "x"), "add", 1)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def ordered_signals(context: df.DurableOrchestrationContext):
    """Signals then a call, interleaved with an activity: the entity sees them in the order sent."""
    key = context.get_input()
    entity = df.EntityId("Counter", key)
    context.signal_entity(entity, "remember", "a")
    context.signal_entity(entity, "remember", "b")
    yield context.call_activity("echo", "between")
    context.signal_entity(entity, "remember", "c")
    seen = yield context.call_entity(entity, "get")
    return seen


@app.orchestration_trigger(context_name="context")
def signal_and_finish(context: df.DurableOrchestrationContext):
    """Signals in the episode that completes the orchestration: the signals are still sent."""
    key = context.get_input()
    yield context.call_activity("echo", "first")
    context.signal_entity(df.EntityId("Counter", key), "add", 5)
    context.signal_entity(df.EntityId("Counter", key), "add", 6)
    return "sent"


@app.activity_trigger(input_name="value")
def echo(value: str) -> str:
    return value


# --- HTTP functions (the SDK client) ----------------------------------------------------------


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    iid = await client.start_new(req.route_params["name"], None, json.loads(body) if body else None)
    return client.create_check_status_response(req, iid)


@app.route(route="entity/{name}/{key}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def signal(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    entity = df.EntityId(req.route_params["name"], req.route_params["key"])
    await client.signal_entity(entity, req.params["op"], json.loads(body) if body else None)
    return func.HttpResponse(status_code=202)


@app.route(route="entity/{name}/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def read(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    entity = df.EntityId(req.route_params["name"], req.route_params["key"])
    state = await client.read_entity_state(entity)
    body = {"exists": state.entity_exists, "state": state.entity_state}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


# --- an entity built with df.Entity.create itself, bound by a generic entityTrigger -------------------


def tally_operations(context: df.DurableEntityContext) -> None:
    total = context.get_state(lambda: 0) + (context.get_input() if context.operation_name == "add" else 0)
    context.set_state(total)
    context.set_result(total)


@app.function_name("Tally")
@app.generic_trigger(arg_name="context", type="entityTrigger")
def tally(context: func.EntityContext) -> str:
    return df.Entity.create(tally_operations)(context)


@app.orchestration_trigger(context_name="context")
def call_tally(context: df.DurableOrchestrationContext):
    first = yield context.call_entity(df.EntityId("Tally", "t"), "add", 2)
    second = yield context.call_entity(df.EntityId("tally", "t"), "add", 3)
    return [first, second]
