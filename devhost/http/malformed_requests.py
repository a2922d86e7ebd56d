"""Requests aiohttp's HTTP parser refuses: answered as JSON with the status the Functions host's server
(Kestrel) gives them, and without any of the request in the answer.

aiohttp answers them itself, before any handler or middleware runs (RequestHandler.handle_error): a
``text/plain`` 400 whose text quotes up to 100 bytes of the offending line, and a traceback with those
bytes in its log. devhost answers them as every other error it answers, ``{"error": ...}`` (and
``Message``, as the durable management API names it: the path, and so which API was meant, is not known
yet), with a status that says what was wrong:

- a request target (URL) longer than the request line's limit: 414 URI Too Long;
- a header longer than the header limit, or too many headers: 431 Request Header Fields Too Large;
- anything else (an invalid method, request line or URL, a NUL or other invalid character in a header,
  Content-Length together with Transfer-Encoding, bad chunked encoding): 400 Bad Request.

The text names what was wrong in words of devhost's own or of llhttp's fixed error reasons, never bytes of
the request. Kestrel logs such requests at Debug only; so does devhost, in one line.

The two size limits differ by two bytes so that aiohttp's one ``LineTooLong`` error says which was hit:
the request target's (8,192 bytes, Kestrel's MaxRequestLineSize) or a header's (8,190, aiohttp's own).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMethod,
    BadStatusLine,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
)
from aiohttp.web_protocol import RequestHandler, _ErrInfo
from aiohttp.web_request import BaseRequest

from devhost.console import host_logs

MAX_LINE_SIZE = 8192  # the request target (URL): Kestrel's MaxRequestLineSize
MAX_FIELD_SIZE = 8190  # one header, name and value: aiohttp's default
MAX_HEADERS = 128  # aiohttp's default
# llhttp's error reasons are fixed texts ("Invalid character in chunk size"); the C parser appends the
# offending bytes after ":\n\n". A reason is shown only when it is such a plain phrase.
_LLHTTP_REASON = re.compile(r"([A-Za-z][A-Za-z' -]{0,99}):\n\n")


def refusal(exc: BaseException | None) -> tuple[int, str]:
    """The status and the message for a request the parser refused with ``exc``."""
    if isinstance(exc, LineTooLong):
        limit = exc.args[1] if len(exc.args) > 1 else None
        if limit == MAX_LINE_SIZE:
            return 414, f"The request's URL is too long: over {MAX_LINE_SIZE} bytes."
        return 431, f"A request header is too long: over {MAX_FIELD_SIZE} bytes for its name and value."
    if isinstance(exc, BadHttpMethod):
        if "HTTPS traffic" in exc.message:
            return 400, "The request is HTTPS (TLS) traffic: devhost serves plain HTTP."
        return 400, "The request's method is not a valid HTTP method."
    if isinstance(exc, BadStatusLine):
        return 400, "The request line is not valid HTTP/1.1 (method, target, version)."
    if isinstance(exc, InvalidURLError):
        return 400, "The request's URL is not valid."
    if isinstance(exc, InvalidHeader):
        return 400, "A request header is not valid."
    if isinstance(exc, HttpProcessingError):
        message = exc.message if isinstance(exc.message, str) else ""
        if message.startswith("Too many headers"):
            return 431, f"The request has too many headers: over {MAX_HEADERS}."
        match = _LLHTTP_REASON.match(message)
        if match is not None:
            return 400, f"The request is not valid HTTP/1.1: {match.group(1)}."
    return 400, "The request is not valid HTTP/1.1."


def refusal_response(exc: BaseException | None) -> web.Response:
    """The JSON answer to a request aiohttp's parser refused, closing the connection."""
    status, message = refusal(exc)
    host_logs.logger.debug("devhost: refused a malformed request (%d): %s", status, message)
    response = web.json_response({"error": message, "Message": message}, status=status)
    response.force_close()  # the connection's next bytes cannot be trusted to start a request
    return response


class _JsonErrorsRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering what it cannot parse (and any error it answers) as JSON."""

    def data_received(self, data: bytes) -> None:
        queued = len(self._messages)
        super().data_received(data)
        # A body the parser refuses once its request is under way (bad chunked encoding after good
        # chunks): aiohttp queues the refusal behind that request and leaves the request's body waiting
        # for bytes that never come, so its handler (and devhost's stop) would wait forever. The body
        # gets the refusal instead: reading it raises, and the handler answers 400 (http_server). Its end
        # is marked too, so that aiohttp does not read on after the answer (lingering), into the refusal.
        current = self._current_request
        if current is None or len(self._messages) <= queued:
            return
        refused = self._messages[-1][0]
        if isinstance(refused, _ErrInfo) and not current.content.is_eof():
            current.content.set_exception(refused.exc)
            current.content.feed_eof()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            # As aiohttp: part of a response went out, so no other can follow.
            raise ConnectionError("Response is sent already, cannot send another response with the error")
        if status < 500:
            return refusal_response(exc)
        # Not the request's fault; the middleware answers a handler's exceptions before they reach here.
        host_logs.logger.error("devhost: internal error while serving a request", exc_info=exc)
        response = web.json_response(
            {"error": "devhost failed to serve the request; its log has the details."}, status=status
        )
        response.force_close()
        return response


class _JsonErrorsServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _JsonErrorsRequestHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorsAppRunner(web.AppRunner):
    """An AppRunner whose connections answer unparseable requests as JSON (see the module)."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        limits = {
            "max_line_size": MAX_LINE_SIZE,
            "max_field_size": MAX_FIELD_SIZE,
            "max_headers": MAX_HEADERS,
        }
        super().__init__(app, **{**limits, **kwargs})

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp builds the Server (and, per connection, the RequestHandler) itself; the server's class
        # is the one place its handler class is chosen.
        server.__class__ = _JsonErrorsServer
        return server
