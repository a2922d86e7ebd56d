"""A plain azure-functions app using the Storage bindings and triggers (through Azurite), as written for
`func start`: blob input and output, queue output and trigger, table input and output, a blob trigger,
and a queue trigger that starts one orchestration per message through the durable client."""

from __future__ import annotations

import json
import threading
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
STORAGE = "AzureWebJobsStorage"

# What the triggered functions saw, for the tests to read back over HTTP.
seen: dict[str, list] = {"flaky": [], "uploads": [], "bad_uploads": []}
lock = threading.Lock()


@app.route(route="docs/{name}", methods=["GET"])
@app.blob_input(arg_name="doc", path="docs/{name}", connection=STORAGE)
def read_doc(req: func.HttpRequest, doc: func.InputStream) -> func.HttpResponse:
    if doc is None:
        return func.HttpResponse("no such blob", status_code=404)
    return func.HttpResponse(json.dumps({"type": type(doc).__name__, "text": doc.read().decode()}))


@app.route(route="docs-text/{name}", methods=["GET"])
@app.blob_input(arg_name="doc", path="docs/{name}", data_type="STRING", connection=STORAGE)
def read_doc_text(req: func.HttpRequest, doc: str) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"type": type(doc).__name__, "text": doc}))


@app.route(route="docs-bytes/{name}", methods=["GET"])
@app.blob_input(arg_name="doc", path="docs/{name}", connection=STORAGE)
def read_doc_bytes(req: func.HttpRequest, doc: bytes) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"type": type(doc).__name__, "size": len(doc)}))


@app.route(route="docs/{name}", methods=["PUT"])
@app.blob_output(arg_name="out", path="docs/{name}", connection=STORAGE)
def write_doc(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
    out.set(req.get_body().decode())
    return func.HttpResponse("stored", status_code=201)


@app.route(route="docs-fail/{name}", methods=["PUT"])
@app.blob_output(arg_name="out", path="docs/{name}", connection=STORAGE)
def write_then_fail(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
    out.set("must not be written")
    raise RuntimeError("failed after setting the output")


@app.route(route="enqueue/{queue}", methods=["POST"])
@app.queue_output(arg_name="msg", queue_name="{queue}", connection=STORAGE)
def enqueue(req: func.HttpRequest, msg: func.Out[str]) -> func.HttpResponse:
    msg.set(req.get_body().decode())
    return func.HttpResponse("queued", status_code=202)


@app.route(route="enqueue-many", methods=["POST"])
@app.queue_output(arg_name="msgs", queue_name="many", connection=STORAGE)
def enqueue_many(req: func.HttpRequest, msgs: func.Out[list[str]]) -> func.HttpResponse:
    msgs.set(req.get_json())
    return func.HttpResponse("queued", status_code=202)


@app.route(route="rows", methods=["POST"])
@app.table_output(arg_name="row", table_name="people", partition_key="staff", connection=STORAGE)
def add_row(req: func.HttpRequest, row: func.Out[str]) -> func.HttpResponse:
    row.set(json.dumps(req.get_json()))
    return func.HttpResponse("added", status_code=201)


@app.route(route="rows/{key}", methods=["GET"])
@app.table_input(
    arg_name="row", table_name="people", partition_key="staff", row_key="{key}", connection=STORAGE
)
def get_row(req: func.HttpRequest, row: str) -> func.HttpResponse:
    return func.HttpResponse(row if row is not None else "null", mimetype="application/json")


@app.route(route="rows", methods=["GET"])
@app.table_input(arg_name="rows", table_name="people", partition_key="staff", take=2, connection=STORAGE)
def list_rows(req: func.HttpRequest, rows: str) -> func.HttpResponse:
    return func.HttpResponse(rows, mimetype="application/json")


@app.queue_trigger(arg_name="msg", queue_name="orders", connection=STORAGE)
@app.blob_output(arg_name="receipt", path="receipts/{orderId}.json", connection=STORAGE)
def on_order(msg: func.QueueMessage, receipt: func.Out[str]) -> None:
    order = msg.get_json()
    receipt.set(json.dumps({"order": order, "id": msg.id, "dequeue_count": msg.dequeue_count}))


@app.queue_trigger(arg_name="msg", queue_name="flaky", connection=STORAGE)
def flaky(msg: func.QueueMessage) -> None:
    with lock:
        seen["flaky"].append({"dequeue_count": msg.dequeue_count, "at": time.time()})
    raise RuntimeError(f"cannot handle {msg.get_body().decode()}")


@app.queue_trigger(arg_name="msg", queue_name="runs", connection=STORAGE)
@app.durable_client_input(client_name="client")
async def start_per_message(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    await client.start_new("greet", instance_id=f"run-{msg.id}", client_input=msg.get_json())


@app.orchestration_trigger(context_name="context")
def greet(context: df.DurableOrchestrationContext):
    payload = context.get_input()
    return (yield context.call_activity("hello", payload["name"]))


@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    return f"Hello {name}"


@app.blob_trigger(arg_name="blob", path="uploads/{name}", connection=STORAGE)
@app.blob_output(arg_name="copy", path="copies/{name}", connection=STORAGE)
def on_upload(blob: func.InputStream, copy: func.Out[bytes]) -> None:
    content = blob.read()
    with lock:
        seen["uploads"].append(
            {"name": blob.name, "length": blob.length, "uri": blob.uri, "text": content.decode()}
        )
    copy.set(content.upper())


@app.route(route="seen/{what}", methods=["GET"])
def get_seen(req: func.HttpRequest) -> func.HttpResponse:
    with lock:
        return func.HttpResponse(json.dumps(seen[req.route_params["what"]]), mimetype="application/json")


@app.queue_trigger(arg_name="msg", queue_name="echo", connection=STORAGE)
@app.blob_output(arg_name="$return", path="echoes/{id}.txt", connection=STORAGE)
async def echo(msg: func.QueueMessage) -> str:
    return msg.get_body().decode()


@app.blob_trigger(arg_name="blob", path="bad-uploads/{name}", connection=STORAGE)
def on_bad_upload(blob: func.InputStream) -> None:
    with lock:
        seen["bad_uploads"].append(blob.name)
    raise RuntimeError(f"cannot read {blob.name}")
