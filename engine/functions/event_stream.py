"""An answer produced over time (Server-Sent Events): held open where the hosting can send a body as it is
produced, else gathered into one finite answer.

A handler answers an ``EventStream``: a ``func.HttpResponse`` without a body yet, holding the producer of
its pieces. The producer is THE event sequence, written once; it is asked to ``hold`` (stay open, send
each piece when it is ready) only by a hosting adapter that can stream: ``python -m engine serve``
(aiohttp), and the Functions app with HTTP streams on (``http_streams``). Every other hosting (the
Functions app's classic HTTP functions, whose worker sends whole bodies) calls ``settled``, which asks the
producer for its finite form and answers the gathered body.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable

import azure.functions as func

EVENT_STREAM = "text/event-stream"

# The pieces of the body in order; ``hold``: the hosting sends each as it comes, so the producer may stay
# open (until its own bound), else it ends once it has something to say.
Producer = Callable[[bool], AsyncGenerator[str, None]]


class EventStream(func.HttpResponse):
    """A 200 ``text/event-stream`` answer whose body ``events`` produces over time."""

    def __init__(self, events: Producer, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(b"", status_code=200, mimetype=EVENT_STREAM, charset="utf-8", headers=headers)
        self.events = events


async def settled(reply: func.HttpResponse) -> func.HttpResponse:
    """The answer as a hosting that sends whole bodies sends it: an ``EventStream`` as its finite form."""
    if not isinstance(reply, EventStream):
        return reply
    body = "".join([piece async for piece in reply.events(False)])
    return func.HttpResponse(
        body,
        status_code=reply.status_code,
        mimetype=reply.mimetype,
        charset=reply.charset,
        headers=dict(reply.headers),
    )


__all__ = ["EVENT_STREAM", "EventStream", "Producer", "settled"]
