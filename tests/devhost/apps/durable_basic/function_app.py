"""A plain azure-functions-durable app exercising the Durable patterns devhost must support."""

from __future__ import annotations

import json
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# --- HTTP starters using the SDK client ---------------------------------------------------


@app.route(route="start/{name}/{instance_id?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    payload = json.loads(body) if body else None
    iid = await client.start_new(req.route_params["name"], req.route_params.get("instance_id"), payload)
    return client.create_check_status_response(req, iid)


@app.route(route="client/{op}/{instance_id}", methods=["POST", "GET"])
@app.durable_client_input(client_name="client")
async def client_op(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Drives every DurableOrchestrationClient operation through the SDK itself."""
    op, iid = req.route_params["op"], req.route_params["instance_id"]
    arg = req.params.get("arg", "")
    result: object = None
    if op == "status":
        status = await client.get_status(iid, show_history=True, show_history_output=True, show_input=True)
        result = status.to_json() if status else None
        if status and getattr(status, "historyEvents", None) is not None:
            result["historyEvents"] = status.historyEvents
    elif op == "raise":
        await client.raise_event(iid, arg, json.loads(req.get_body() or b"null"))
    elif op == "terminate":
        await client.terminate(iid, arg)
    elif op == "suspend":
        await client.suspend(iid, arg)
    elif op == "resume":
        await client.resume(iid, arg)
    elif op == "restart":
        result = await client.restart(iid, restart_with_new_instance_id=arg != "same")
    elif op == "purge":
        result = (await client.purge_instance_history(iid)).instances_deleted
    elif op == "list":
        result = sorted(s.instance_id for s in await client.get_status_all())
    elif op == "list_running":
        statuses = await client.get_status_by(runtime_status=[df.OrchestrationRuntimeStatus.Running])
        result = sorted(s.instance_id for s in statuses)
    elif op == "purge_by":
        from datetime import datetime

        res = await client.purge_instance_history_by(
            created_time_from=datetime(2000, 1, 1), runtime_status=[df.OrchestrationRuntimeStatus.Completed]
        )
        result = res.instances_deleted
    elif op == "wait":
        return await client.wait_for_completion_or_create_check_status_response(req, iid, 3000, 100)
    elif op == "payload":
        result = client.create_http_management_payload(iid)
    return func.HttpResponse(json.dumps(result), mimetype="application/json")


# --- activities ----------------------------------------------------------------------------


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}!"


@app.activity_trigger(input_name="value")
async def double(value: int) -> int:
    return value * 2


@app.activity_trigger(input_name="message")
def fail_always(message: str) -> str:
    raise ValueError(f"boom: {message}")


_attempts: dict[str, int] = {}


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    """Fails twice per key, then succeeds."""
    _attempts[key] = _attempts.get(key, 0) + 1
    if _attempts[key] <= 2:
        raise RuntimeError(f"transient failure {_attempts[key]} for {key}")
    return f"{key} ok after {_attempts[key]} attempts"


# --- orchestrators -------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def chaining(context: df.DurableOrchestrationContext):
    a = yield context.call_activity("say_hello", "Tokyo")
    b = yield context.call_activity("say_hello", "Seattle")
    c = yield context.call_activity(say_hello, "London")
    context.set_custom_status({"step": 3})
    return [a, b, c]


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input() or 100
    results = yield context.task_all([context.call_activity("double", i) for i in range(count)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    hours = (context.get_input() or {}).get("hours", 72)
    deadline = context.current_utc_datetime + timedelta(hours=hours)
    timer = context.create_timer(deadline)
    event = context.wait_for_external_event("Approval")
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        return {"approved": event.result}
    return {"approved": None, "timed_out": True}


@app.orchestration_trigger(context_name="context")
def early_event(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("say_hello", "early")
    e1 = yield context.wait_for_external_event("Go")
    e2 = yield context.wait_for_external_event("Go")
    return [first, e1, e2]


@app.orchestration_trigger(context_name="context")
def monitor(context: df.DurableOrchestrationContext):
    state = context.get_input() or {"round": 0, "results": []}
    if state["round"] >= 3:
        return state["results"]
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=30))
    value = yield context.call_activity("double", state["round"])
    state = {"round": state["round"] + 1, "results": [*state["results"], value]}
    context.continue_as_new(state)
    return None


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    child = yield context.call_sub_orchestrator("chaining", None)
    retried = yield context.call_sub_orchestrator_with_retry("retry_child", df.RetryOptions(1000, 3), "sub")
    return {"child": child, "retried": retried, "parent": context.instance_id}


@app.orchestration_trigger(context_name="context")
def retry_child(context: df.DurableOrchestrationContext):
    key = context.get_input()
    result = yield context.call_activity_with_retry("flaky", df.RetryOptions(5000, 3), f"child-{key}")
    return result


@app.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext):
    key = context.get_input()
    first = yield context.call_activity_with_retry("flaky", df.RetryOptions(2000, 3), key)
    second = yield context.call_activity("say_hello", "after retry")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def retry_exhausted(context: df.DurableOrchestrationContext):
    yield context.call_activity_with_retry("fail_always", df.RetryOptions(1000, 2), "never")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def failing(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", "before failure")
    yield context.call_activity("fail_always", "uncaught")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def waiter(context: df.DurableOrchestrationContext):
    """Waits forever for events; used by terminate / suspend / resume tests."""
    context.set_custom_status("waiting")
    value = yield context.wait_for_external_event("Continue")
    hello = yield context.call_activity("say_hello", str(value))
    return hello


@app.orchestration_trigger(context_name="context")
def long_timer(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(days=10))
    return "after ten days"


@app.orchestration_trigger(context_name="context")
def uses_entity(context: df.DurableOrchestrationContext):
    yield context.call_entity(df.EntityId("Counter", "c1"), "add", 1)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def identical_timers(context: df.DurableOrchestrationContext):
    """Three timers with the same deadline: the first two are cancelled, only the third may fire."""
    deadline = context.current_utc_datetime + timedelta(hours=1)
    first = context.create_timer(deadline)
    a = context.wait_for_external_event("A")
    yield context.task_any([a, first])
    first.cancel()
    second = context.create_timer(deadline)
    b = context.wait_for_external_event("B")
    yield context.task_any([b, second])
    second.cancel()
    yield context.create_timer(deadline)
    return "third fired"


@app.orchestration_trigger(context_name="context")
def slow_retry(context: df.DurableOrchestrationContext):
    """A retry policy with a minute between attempts: the instance sits in its backoff for a while."""
    yield context.call_activity_with_retry("fail_always", df.RetryOptions(60_000, 2), "slowly")
    return "unreachable"
