"""A plain-SDK app using HTTP streams, written as the Azure Functions docs' sample: the extension's Request
in, its StreamingResponse out. The stream waits between its pieces for a gate the caller opens over HTTP,
so a test can tell a body sent as produced from one gathered and sent at the end."""

import asyncio

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, StreamingResponse

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

gates: dict[str, asyncio.Event] = {}


def _gate(name: str) -> asyncio.Event:
    return gates.setdefault(name, asyncio.Event())


async def readings(gate: str):
    """A reading, then the rest once the gate opens (or a timeout line after 10 s, which fails the test)."""
    yield "data: first\n\n"
    try:
        await asyncio.wait_for(_gate(gate).wait(), timeout=10)
    except TimeoutError:
        yield "data: gate never opened\n\n"
        return
    for i in range(2, 5):
        yield f"data: reading {i}\n\n"


@app.route(route="stream", methods=[func.HttpMethod.GET])
async def stream_readings(req: Request) -> StreamingResponse:
    """Readings as Server-Sent Events, as they are produced."""
    return StreamingResponse(readings(req.query_params["gate"]), media_type="text/event-stream")


@app.route(route="gates/{name}", methods=[func.HttpMethod.POST])
async def open_gate(req: Request) -> dict:
    """Open a gate: a plain value, which the extension's web app answers as JSON."""
    name = req.path_params["name"]
    _gate(name).set()
    body = await req.body()
    return {"opened": name, "body": body.decode(), "query": dict(req.query_params)}


@app.route(route="fails")
def fails(req: Request) -> StreamingResponse:
    raise RuntimeError("secret internal detail")
