"""A plain azure-functions-durable app for the host's small contracts: check-status responses, waiting
on a start, inputs, durable HTTP and the app's own logs."""

from __future__ import annotations

import json
import logging
import time
import warnings

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    iid = await client.start_new(req.route_params["name"], None, json.loads(body) if body else None)
    return client.create_check_status_response(req, iid)


@app.route(route="wait/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_and_wait(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    iid = await client.start_new(req.route_params["name"], None, json.loads(body) if body else None)
    return await client.wait_for_completion_or_create_check_status_response(
        req, iid, int(req.params.get("timeout_ms", "10000")), int(req.params.get("interval_ms", "100"))
    )


@app.activity_trigger(input_name="seconds")
def nap(seconds: float) -> str:
    time.sleep(seconds)
    return f"slept {seconds}"


@app.orchestration_trigger(context_name="context")
def slow(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("nap", context.get_input() or 0))


@app.orchestration_trigger(context_name="context")
def failing(context: df.DurableOrchestrationContext):
    yield context.call_activity("nap", 0)
    raise ValueError("this orchestration fails on purpose")


@app.orchestration_trigger(context_name="context")
def echo_input(context: df.DurableOrchestrationContext):
    value = context.get_input()
    yield context.call_activity("nap", 0)
    return {"value": value, "type": type(value).__name__}


@app.orchestration_trigger(context_name="context")
def fetch(context: df.DurableOrchestrationContext):
    """Durable HTTP: the request described by the input, the SDK's response dict as the output."""
    ask = context.get_input()
    response = yield context.call_http(
        ask.get("method", "GET"), ask["uri"], content=ask.get("content"), headers=ask.get("headers")
    )
    return response


@app.orchestration_trigger(context_name="context")
def fetch_or_error(context: df.DurableOrchestrationContext):
    """Durable HTTP to an address that refuses: the orchestrator sees the failed task."""
    try:
        yield context.call_http("GET", context.get_input())
    except Exception as exc:  # the SDK raises the task's failure reason
        return {"failed": str(exc)}
    return {"failed": None}


@app.route(route="log", methods=["GET"])
def log(req: func.HttpRequest) -> func.HttpResponse:
    logging.debug("debug from the app")
    logging.info("info from the app")
    logging.getLogger("contracts.module").warning("warning from the app")
    warnings.warn("a warnings.warn from the app", UserWarning, stacklevel=1)
    return func.HttpResponse("logged")


@app.activity_trigger(input_name="text")
def log_activity(text: str) -> str:
    logging.info("activity says %s", text)
    return text


@app.orchestration_trigger(context_name="context")
def logs_from_activity(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("log_activity", "hi"))


class Point:
    """A custom type: df_dumps names its module in what it serializes."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    @staticmethod
    def to_json(obj: Point) -> dict[str, int]:
        return {"x": obj.x, "y": obj.y}

    @staticmethod
    def from_json(data: dict[str, int]) -> Point:
        return Point(data["x"], data["y"])


@app.activity_trigger(input_name="x")
def make_point(x: int) -> Point:
    return Point(x, x + 1)


@app.orchestration_trigger(context_name="context")
def points(context: df.DurableOrchestrationContext):
    point = yield context.call_activity("make_point", 1)
    # The activity's result came back through the type's module, imported by the name it was saved under.
    return {"sum": point.x + point.y, "module": type(point).__module__}


@app.route(route="module", methods=["GET"])
def module(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"module": __name__, "class": Point.__module__}))
