"""The stream read handlers: a step's stream after an offset, as JSON or as Server-Sent Events (long-polled).

``GET .../runs/{instanceId}/steps/{step}/stream?after=OFFSET&wait=SECONDS&attempt=N`` answers the step's
newest attempt's chunks after ``after`` (``StreamAnswer``), waiting up to ``wait`` seconds for one. A
reader passes back the ``attempt`` and ``next`` it was given; when a newer attempt has begun (a retried
call, the step's next model call) the answer has ``newAttempt: true`` and that attempt's chunks from its
start. ``.../stream/sse`` gives the same chunks as Server-Sent Events, each with the id
``ATTEMPT:OFFSET``, so an ``EventSource`` that reconnects with ``Last-Event-ID`` resumes after the last
chunk it got. Every answer ends once it holds chunks (or the wait is over); the client asks again, until
the ``done`` event (which an ``EventSource`` closes on).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.functions as func
from pydantic import BaseModel, Field

from engine.core.streams import StreamChunk, StreamStore, stream_step, stream_store
from engine.durable.admission import run_nonce_in
from engine.durable.client import DurableClient
from engine.functions.http_json import HttpError, check_instance_id, json_response
from engine.functions.http_params import int_param
from engine.functions.workflow_api import WorkflowApi

MAX_STREAM_WAIT = 60
MAX_OFFSET = 1_000_000_000
SSE_RETRY_MS = 250  # how soon an EventSource asks again once an answer ends
_ENDED = ("Completed", "Failed", "Terminated")


class StreamAnswer(BaseModel):
    """``GET .../steps/{step}/stream``: the chunks after the offset asked for."""

    attempt: int | None = Field(
        description="the attempt read (the step's newest); null: nothing streamed yet"
    )
    chunks: list[StreamChunk] = Field(description="the chunks after the offset, in order, each once")
    next: int = Field(description="the offset to pass as ?after= next time")
    done: bool = Field(description="the attempt's stream has ended: no chunk follows (a newer attempt may)")
    newAttempt: bool | None = Field(
        default=None, description="true: a newer attempt than ?attempt= began; its chunks from its start"
    )


async def _answer(
    store: StreamStore, instance_id: str, step: str, attempt: int | None, after: int
) -> StreamAnswer:
    latest = await store.latest(instance_id, step)
    if latest is None:
        return StreamAnswer(attempt=None, chunks=[], next=after, done=False)
    if attempt is not None and attempt != latest:
        read = await store.read(instance_id, step, latest, 0)
        return StreamAnswer(
            attempt=latest, chunks=read.chunks, next=read.next, done=read.done, newAttempt=True
        )
    read = await store.read(instance_id, step, latest, after)
    return StreamAnswer(attempt=latest, chunks=read.chunks, next=max(read.next, after), done=read.done)


async def _read(
    api: WorkflowApi, req: func.HttpRequest, client: DurableClient, attempt: int | None, after: int, wait: int
) -> StreamAnswer:
    workflow = api.workflow(req)
    instance_id = check_instance_id(req.route_params.get("instanceId", ""))
    step = req.route_params.get("step", "")
    store = stream_store()
    status = await client.status(instance_id, with_input=True)
    if status is None or status.name != workflow.name:
        if status is None:
            await store.purge(instance_id)  # the run was purged: its streams go with it
        raise api.runs.unknown(workflow, instance_id)
    if not any(step in version.nodes for version in api.versions.versions(workflow.name)):
        raise HttpError(404, f"workflow {workflow.name!r} has no step {step!r}", field="step")
    step = stream_step(step, run_nonce_in(status.input))  # only this run's streams, never an earlier run's
    ended = status.runtime in _ENDED
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        answer = await _answer(store, instance_id, step, attempt, after)
        if answer.chunks or answer.done or answer.newAttempt or loop.time() >= deadline:
            return answer
        if ended and answer.attempt is None:
            return answer  # the run is over and the step wrote nothing: nothing will come
        await store.wait_change(instance_id, step, deadline - loop.time())


async def get_stream(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``GET .../steps/{step}/stream``: the step's stream after ``?after=``, long-polled up to ``?wait=``."""
    after = int_param(req, "after", default=0, low=0, high=MAX_OFFSET)
    wait = int_param(req, "wait", default=0, low=0, high=MAX_STREAM_WAIT)
    attempt = _attempt(req)
    answer = await _read(api, req, client, attempt, after, wait)
    return json_response(
        answer.model_dump(mode="json", exclude={"newAttempt"} if answer.newAttempt is None else None)
    )


def _attempt(req: func.HttpRequest) -> int | None:
    if not req.params.get("attempt"):
        return None
    return int_param(req, "attempt", default=1, low=1, high=MAX_OFFSET)


def _last_event(req: func.HttpRequest) -> tuple[int, int] | None:
    raw = req.headers.get("Last-Event-ID")
    if not raw:
        return None
    attempt, sep, offset = raw.partition(":")
    if not (sep and attempt.isdigit() and offset.isdigit() and int(attempt) >= 1):
        raise HttpError(
            400, "Last-Event-ID must be ATTEMPT:OFFSET, as an event of this stream", field="Last-Event-ID"
        )
    return int(attempt), int(offset)


def sse_text(answer: StreamAnswer) -> str:
    """The answer as Server-Sent Events: ``attempt`` (a newer attempt began), a ``chunk`` each (id
    ``ATTEMPT:OFFSET``), ``done`` (the attempt ended)."""
    lines = [f"retry: {SSE_RETRY_MS}", ""]
    if answer.newAttempt:
        lines += ["event: attempt", f"data: {json.dumps({'attempt': answer.attempt})}", ""]
    for chunk in answer.chunks:
        data: dict[str, Any] = {"attempt": answer.attempt, "offset": chunk.offset, "text": chunk.text}
        lines += [f"id: {answer.attempt}:{chunk.offset}", "event: chunk", f"data: {json.dumps(data)}", ""]
    if answer.done:
        lines += [
            f"id: {answer.attempt}:{answer.next}",
            "event: done",
            f"data: {json.dumps({'attempt': answer.attempt})}",
            "",
        ]
    return "\n".join(lines) + "\n"


async def get_stream_sse(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``GET .../steps/{step}/stream/sse``: the same chunks as Server-Sent Events, resumed after
    ``Last-Event-ID`` (else ``?attempt=`` and ``?after=``)."""
    wait = int_param(req, "wait", default=25, low=0, high=MAX_STREAM_WAIT)
    resumed = _last_event(req)
    if resumed is not None:
        attempt, after = resumed
    else:
        attempt, after = _attempt(req), int_param(req, "after", default=0, low=0, high=MAX_OFFSET)
    answer = await _read(api, req, client, attempt, after, wait)
    return func.HttpResponse(
        sse_text(answer),
        status_code=200,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store"},
    )


__all__ = ["StreamAnswer", "get_stream", "get_stream_sse", "sse_text"]
