"""The stream read handlers: a step's stream after an offset, as JSON (long-polled) or as Server-Sent Events.

``GET .../runs/{instanceId}/steps/{step}/stream?after=OFFSET&wait=SECONDS&attempt=N`` answers the step's
newest attempt's chunks after ``after`` (``StreamAnswer``), waiting up to ``wait`` seconds for one. A
reader passes back the ``attempt`` and ``next`` it was given; when a newer attempt has begun (a retried
call, the step's next model call) the answer has ``newAttempt: true`` and that attempt's chunks from its
start. ``.../stream/sse`` gives the same chunks as Server-Sent Events, each with the id
``ATTEMPT:OFFSET``, so an ``EventSource`` that reconnects with ``Last-Event-ID`` resumes after the last
chunk it got. ``sse_events`` is THE event sequence: held open where the hosting can stream (each chunk
sent as it commits, heartbeats between, until ``done`` or ``wait``), else one finite answer per batch;
the hosting adapter chooses (``event_stream``). The client asks again until the ``done`` event (which an
``EventSource`` closes on).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from pydantic import BaseModel, Field

from engine.core.streams import StreamChunk, StreamStore, stream_step, stream_store
from engine.durable.admission import run_nonce_in
from engine.durable.client import DurableClient
from engine.functions.event_stream import EventStream
from engine.functions.http_json import HttpError, check_instance_id, json_response
from engine.functions.http_params import int_param
from engine.functions.workflow_api import WorkflowApi

MAX_STREAM_WAIT = 60
MAX_OFFSET = 1_000_000_000
SSE_RETRY_MS = 250  # how soon an EventSource asks again once an answer ends
SSE_WAIT = 25  # seconds an SSE answer waits (held open: stays open) by default; under proxies' idle limits
SSE_HEARTBEAT = 10.0  # seconds a held-open answer stays silent at most: then a comment keeps it open
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


@dataclass(frozen=True, slots=True)
class StepStream:
    """The stream a request names, checked (the run exists and is this workflow's, the step is one of it):
    read from its store after an offset, waiting up to a bound for a chunk."""

    store: StreamStore
    instance_id: str
    step: str  # the key the run's streams of the step are kept under (its execution's, stream_step)
    ended: bool  # the run had ended when the request came

    async def poll(self, attempt: int | None, after: int, wait: float) -> StreamAnswer:
        """The chunks after ``after``, waiting up to ``wait`` seconds for one (or the attempt's end, or a
        newer attempt)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            answer = await _answer(self.store, self.instance_id, self.step, attempt, after)
            if answer.chunks or answer.done or answer.newAttempt or loop.time() >= deadline:
                return answer
            if self.silent(answer):
                return answer  # nothing will come
            await self.store.wait_change(self.instance_id, self.step, deadline - loop.time())

    def silent(self, answer: StreamAnswer) -> bool:
        """The run is over and the step wrote nothing: no chunk will ever come."""
        return self.ended and answer.attempt is None


async def _opened(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> StepStream:
    """The stream the request names; 404 for an unknown run or step (a purged run's streams purged)."""
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
    key = stream_step(step, run_nonce_in(status.input))  # only this run's streams, never an earlier run's
    return StepStream(store, instance_id, key, status.runtime in _ENDED)


async def get_stream(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``GET .../steps/{step}/stream``: the step's stream after ``?after=``, long-polled up to ``?wait=``."""
    after = int_param(req, "after", default=0, low=0, high=MAX_OFFSET)
    wait = int_param(req, "wait", default=0, low=0, high=MAX_STREAM_WAIT)
    attempt = _attempt(req)
    answer = await (await _opened(api, req, client)).poll(attempt, after, wait)
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
    ``ATTEMPT:OFFSET``), ``done`` (the attempt ended); empty when it holds none of them."""
    lines: list[str] = []
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
    return "\n".join(lines) + "\n" if lines else ""


async def sse_events(
    stream: StepStream, attempt: int | None, after: int, wait: float, *, hold: bool
) -> AsyncGenerator[str, None]:
    """THE event sequence of ``.../stream/sse``, one piece of the body at a time.

    It opens with ``retry:`` (how soon an ``EventSource`` reconnects, with ``Last-Event-ID``, once the
    answer ends), then the events of each read after the reader's place. ``hold``: the hosting can send
    a body as it is produced, so the answer stays open, each chunk sent as it commits and a comment sent
    every ``SSE_HEARTBEAT`` seconds without one (proxies close a silent connection), until the attempt is
    done or ``wait`` seconds are over. Otherwise the answer ends at its first events (or when ``wait`` is
    over): one finite response per batch, which every hosting can send.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    yield f"retry: {SSE_RETRY_MS}\n\n"
    while True:
        left = max(0.0, deadline - loop.time())
        answer = await stream.poll(attempt, after, min(left, SSE_HEARTBEAT) if hold else left)
        text = sse_text(answer)
        if text:
            yield text
        if answer.attempt is not None:
            attempt, after = answer.attempt, answer.next
        over = loop.time() >= deadline
        if answer.done or over or stream.silent(answer) or (text and not hold):
            return
        if not text:
            yield ": waiting\n\n"  # a heartbeat: a comment, which readers ignore


def _sse_place(req: func.HttpRequest) -> tuple[int | None, int]:
    """Where the reader is: after ``Last-Event-ID`` (an ``EventSource`` reconnecting), else ``?attempt=``
    and ``?after=``."""
    resumed = _last_event(req)
    if resumed is not None:
        return resumed
    return _attempt(req), int_param(req, "after", default=0, low=0, high=MAX_OFFSET)


async def get_stream_sse(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``GET .../steps/{step}/stream/sse``: the same chunks as Server-Sent Events, resumed after
    ``Last-Event-ID`` (else ``?attempt=`` and ``?after=``): held open up to ``?wait=`` where the hosting
    can stream, else one finite answer per batch (``EventStream``)."""
    wait = int_param(req, "wait", default=SSE_WAIT, low=0, high=MAX_STREAM_WAIT)
    attempt, after = _sse_place(req)
    stream = await _opened(api, req, client)  # 400s and 404s answer before any event

    def events(hold: bool) -> AsyncGenerator[str, None]:
        return sse_events(stream, attempt, after, wait, hold=hold)

    return EventStream(events, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


__all__ = ["StepStream", "StreamAnswer", "get_stream", "get_stream_sse", "sse_events", "sse_text"]
