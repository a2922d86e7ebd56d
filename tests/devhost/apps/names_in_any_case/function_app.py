"""A plain azure-functions-durable app that names its functions in another case than it declares them, as
the Python worker's own end-to-end durable app does (``start_new("DurableFunctionsOrchestrator")`` for
the function ``durablefunctionsorchestrator``, ``call_activity("Hello")`` for ``hello``)."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def durable_client(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["functionName"], None, None)
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def durablefunctionsorchestrator(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("Hello", "Tokyo")
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2)
    second = yield context.call_activity_with_retry("HELLO", retry, "Seattle")
    child = yield context.call_sub_orchestrator("Child_Orchestrator", "London")
    count = yield context.call_entity(df.EntityId("COUNTER", "k"), "add", 2)
    return [first, second, child, count]


@app.orchestration_trigger(context_name="context")
def child_orchestrator(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("hElLo", context.get_input()))


@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    return f"Hello {name}!"


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0) + (context.get_input() or 0)
    context.set_state(value)
    context.set_result(value)
