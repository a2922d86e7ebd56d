"""Durable HTTP (``context.call_http``): the request the orchestrator describes, sent as the extension's
built-in HTTP activity sends it, and its response in the shape the SDK hands back to the orchestrator.

Facts from Azure/azure-functions-durable-extension: the activity is ``BuiltIn::HttpActivity``
(HttpOptions.HttpTaskActivityReservedName); TaskHttpActivityShim builds the request (a Content-Type header
sets the content's type, text/plain when none; multipart refused; a token source adds a bearer token) on
an HttpClient with a 240 s timeout that follows redirects (DurableHttpClientFactory); DurableHttpResponse
is ``{statusCode, headers, content}`` with the response headers only (not the content's), one value as a
string and several as a list (HttpHeadersConverter); a request that fails fails the task with its message.

The 202 pattern (DurableOrchestrationContext.CallHttpAsync): while the answer is 202 Accepted and the
request has ``asynchronousPatternEnabled``, wait Retry-After seconds (else the 30 s default) and GET the
Location, with the request's headers but ``x-functions-key``. The Python SDK's DurableHttpRequest sends no
``asynchronousPatternEnabled`` (the extension then reads false: Python apps get the 202 itself, see
azure-functions-durable-python issue #380); a request that carries it true is polled. The extension polls
with durable timers in its own replay; devhost polls inside the one activity, so the orchestrator sees one
task either way, and after a crash the activity (like any activity) runs again from the first request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urljoin

import aiohttp

HTTP_ACTIVITY = "BuiltIn::HttpActivity"
TIMEOUT_SECONDS = 240
MAX_REDIRECTS = 50  # HttpClientHandler.MaxAutomaticRedirections
DEFAULT_POLL_MILLISECONDS = 30_000  # durableTask.httpSettings.defaultAsyncRequestSleepTimeMilliseconds
# .NET keeps these on the response's content, not in HttpResponseMessage.Headers: the response JSON has
# no such header.
CONTENT_HEADERS = frozenset(
    {
        "allow",
        "content-disposition",
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-md5",
        "content-range",
        "content-type",
        "expires",
        "last-modified",
    }
)


class DurableHttpError(Exception):
    """The request could not be made or got no answer: the task fails with this message."""


Sleep = Callable[[float], Awaitable[None]]


def _header_values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _request_parts(request: dict[str, Any]) -> tuple[list[tuple[str, str]], bytes | None]:
    """The headers and body the extension sends for a DurableHttpRequest."""
    if request.get("tokenSource"):
        raise DurableHttpError(
            "call_http with a token_source needs a managed identity token, which devhost cannot acquire: "
            "pass the Authorization header yourself, or run with Core Tools on Azure credentials."
        )
    headers: list[tuple[str, str]] = []
    content_type = ""
    for name, value in (request.get("headers") or {}).items():
        for item in _header_values(value):
            if str(name).lower() == "content-type":
                if "multipart" in item:
                    raise DurableHttpError("Multipart content is not supported with CallHttpAsync.")
                content_type = item
            else:
                headers.append((str(name), item))
    content = request.get("content")
    if content is None:
        return headers, None
    content_type = content_type or "text/plain"
    if content_type.lower() == "application/x-www-form-urlencoded":
        content_type += "; charset=utf-8"
    headers.append(("Content-Type", content_type))
    return headers, str(content).encode("utf-8")


def _response_json(status: int, raw_headers: Any, body: bytes, charset: str | None) -> dict[str, Any]:
    headers: dict[str, list[str]] = {}
    names: dict[str, str] = {}  # lower case -> the case first received
    for raw_name, raw_value in raw_headers:
        name = raw_name.decode("latin-1")
        if name.lower() in CONTENT_HEADERS:
            continue
        key = names.setdefault(name.lower(), name)
        headers.setdefault(key, []).append(raw_value.decode("latin-1"))
    try:
        content = body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset: .NET falls back to UTF-8 too
        content = body.decode("utf-8", errors="replace")
    return {
        "statusCode": status,
        "headers": {k: v[0] if len(v) == 1 else v for k, v in headers.items()},
        "content": content,
    }


async def _send(session: aiohttp.ClientSession, request: dict[str, Any]) -> dict[str, Any]:
    method = str(request.get("method") or "GET").upper()
    uri = request.get("uri")
    if not uri:
        raise DurableHttpError("call_http needs a uri.")
    headers, body = _request_parts(request)
    try:
        async with session.request(
            method, str(uri), headers=headers, data=body, allow_redirects=True, max_redirects=MAX_REDIRECTS
        ) as response:
            payload = await response.read()
            return _response_json(response.status, response.raw_headers, payload, response.charset)
    except TimeoutError:
        raise DurableHttpError(
            f"The HTTP request to {uri} timed out after {TIMEOUT_SECONDS} seconds."
        ) from None
    except (aiohttp.ClientError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        raise DurableHttpError(f"The HTTP request {method} {uri} failed: {reason}") from None


def _header(response: dict[str, Any], name: str) -> str | None:
    for key, value in response["headers"].items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return None


def _poll_delay(response: dict[str, Any], default_ms: int) -> float:
    retry_after = _header(response, "Retry-After")
    if retry_after is not None and retry_after.strip().isdigit():
        return float(int(retry_after.strip()))
    return default_ms / 1000


def _location_poll(request: dict[str, Any], location: str) -> dict[str, Any]:
    """CreateLocationPollRequest: GET the Location with the request's headers, without the function key
    (a function-level key would not open a status endpoint that needs the master key)."""
    headers = {k: v for k, v in (request.get("headers") or {}).items() if str(k).lower() != "x-functions-key"}
    return {**request, "method": "GET", "uri": location, "headers": headers, "content": None}


async def call(
    request: dict[str, Any], *, sleep: Sleep = asyncio.sleep, default_poll_ms: int = DEFAULT_POLL_MILLISECONDS
) -> dict[str, Any]:
    """Send the DurableHttpRequest (the SDK's JSON); the DurableHttpResponse JSON, after polling a 202
    when the request enables the asynchronous pattern. DurableHttpError when a request fails."""
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        polled = request
        response = await _send(session, request)
        while response["statusCode"] == 202 and request.get("asynchronousPatternEnabled") is True:
            location = _header(response, "Location")
            if not location:
                break  # nothing to poll: the 202 is the answer
            await sleep(_poll_delay(response, default_poll_ms))
            # The extension needs an absolute Location; a relative one is read against the polled URI.
            polled = _location_poll(request, urljoin(str(polled["uri"]), location))
            response = await _send(session, polled)
    return response
