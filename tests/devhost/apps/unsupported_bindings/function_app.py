"""A plain azure-functions app whose functions use bindings devhost does not run (Service Bus, Event
Hubs, Cosmos DB, Twilio, SendGrid), beside ones it runs."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="fine", methods=["GET"])
def fine(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("fine")


@app.route(route="sms", methods=["POST"])
@app.generic_output_binding(arg_name="sms", type="twilioSms", accountSidSetting="TwilioSid", from_number="+1")
def send_sms(req: func.HttpRequest, sms: func.Out[str]) -> func.HttpResponse:
    sms.set("hi")
    return func.HttpResponse("sent")


@app.service_bus_queue_trigger(arg_name="msg", queue_name="orders", connection="ServiceBus")
def on_order(msg: func.ServiceBusMessage) -> None:
    pass


@app.event_hub_message_trigger(arg_name="event", event_hub_name="telemetry", connection="EventHub")
def on_telemetry(event: func.EventHubEvent) -> None:
    pass


@app.cosmos_db_trigger(arg_name="docs", connection="Cosmos", database_name="db", container_name="items")
def on_items(docs: func.DocumentList) -> None:
    pass


@app.activity_trigger(input_name="key")
@app.generic_output_binding(arg_name="mail", type="sendGrid", apiKey="SendGridKey")
def read_row(key: str, mail: func.Out[str]) -> str:
    return key


@app.orchestration_trigger(context_name="context")
def uses_row(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("read_row", "r1"))


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    iid = await client.start_new(req.route_params["name"])
    return client.create_check_status_response(req, iid)
