"""Durable HTTP (`context.call_http`) on a plain azure-functions-durable app, against loopback HTTP
servers, as the Durable extension's built-in HTTP activity runs it."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devhost.durable import durable_http
from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS, finished, start, status


class _Handler(BaseHTTPRequestHandler):
    polls: dict[str, int] = {}
    seen: list[dict[str, object]] = []

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _answer(self, code: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(code)
        for name, value in headers or []:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self, body: bytes) -> None:
        self.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body.decode()}
        )

    def do_GET(self) -> None:
        self._record(b"")
        if self.path == "/hello":
            headers = [("Content-Type", "text/plain; charset=utf-8"), ("X-Test", "a")]
            self._answer(200, b"hi", [*headers, ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        elif self.path == "/redirect":
            self._answer(302, b"", [("Location", "/hello")])
        elif self.path == "/accepted":
            self._answer(202, b"started", [("Location", "/status/1"), ("Retry-After", "0")])
        elif self.path == "/status/1":
            count = self.polls["status"] = self.polls.get("status", 0) + 1
            if count < 2:
                self._answer(202, b"running", [("Location", "/status/1"), ("Retry-After", "0")])
            else:
                self._answer(200, b"finished")
        else:
            self._answer(404, b"no such path")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._record(body)
        echo = {
            "content_type": self.headers.get("Content-Type"),
            "body": body.decode(),
            "x_custom": self.headers.get("X-Custom"),
        }
        self._answer(201, json.dumps(echo).encode(), [("Content-Type", "application/json")])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(APPS / "contracts") as handle:
        yield handle


def _fetch(host: DevHostHandle, ask: dict[str, object]) -> dict[str, object]:
    done = finished(host, start(host, "fetch", ask))
    assert done["runtimeStatus"] == "Completed", done
    return done["output"]


def test_get_returns_status_headers_and_content(host, server):
    # TaskHttpActivityShim + DurableHttpResponse: {statusCode, headers, content}; the response headers
    # only (Content-Type and Content-Length belong to the content in .NET); several values as a list.
    response = _fetch(host, {"uri": f"{server}/hello"})
    assert response["statusCode"] == 200 and response["content"] == "hi"
    assert response["headers"]["X-Test"] == "a"
    assert response["headers"]["Set-Cookie"] == ["a=1", "b=2"]
    assert not {"content-type", "content-length"} & {h.lower() for h in response["headers"]}


def test_post_sends_content_and_headers(host, server):
    # TaskHttpActivityShim.ConvertToHttpRequestMessage: content without a Content-Type header goes as
    # text/plain; a Content-Type header sets it; other headers are sent as they are. The SDK json.dumps
    # non-string content.
    plain = _fetch(host, {"method": "POST", "uri": f"{server}/echo", "content": {"a": 1}})
    assert plain["statusCode"] == 201
    echoed = json.loads(plain["content"])
    assert echoed == {"content_type": "text/plain", "body": '{"a": 1}', "x_custom": None}
    typed = _fetch(
        host,
        {
            "method": "POST",
            "uri": f"{server}/echo",
            "content": {"b": 2},
            "headers": {"Content-Type": "application/json", "X-Custom": "yes"},
        },
    )
    assert json.loads(typed["content"]) == {
        "content_type": "application/json",
        "body": '{"b": 2}',
        "x_custom": "yes",
    }


def test_redirects_are_followed(host, server):
    # The extension's HttpClient (DurableHttpClientFactory, HttpClientHandler) follows redirects.
    response = _fetch(host, {"uri": f"{server}/redirect"})
    assert response["statusCode"] == 200 and response["content"] == "hi"


def test_python_sdk_requests_get_the_202_itself(host, server):
    # The Python SDK's DurableHttpRequest has no asynchronousPatternEnabled, which the extension then
    # reads as false (DurableOrchestrationContext.CallHttpAsync polls only when it is true): the
    # orchestrator gets the 202 with its Location (azure-functions-durable-python issue #380).
    response = _fetch(host, {"uri": f"{server}/accepted"})
    assert response["statusCode"] == 202 and response["content"] == "started"
    assert response["headers"]["Location"] == "/status/1"


def test_history_shows_the_built_in_http_activity(host, server):
    # The extension schedules durable HTTP as the activity BuiltIn::HttpActivity
    # (HttpOptions.HttpTaskActivityReservedName).
    iid = start(host, "fetch", {"uri": f"{server}/hello"})
    finished(host, iid)
    events = status(host, iid, "?showHistory=true&showHistoryOutput=true").json["historyEvents"]
    completed = [e for e in events if e["EventType"] == "TaskCompleted"]
    assert [e["FunctionName"] for e in completed] == [durable_http.HTTP_ACTIVITY]
    assert completed[0]["Result"]["statusCode"] == 200


def test_a_request_that_fails_fails_the_task_with_its_reason(host):
    # TaskHttpActivityShim: an HttpRequestException fails the task with its message; the SDK raises it
    # in the orchestrator.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/nothing"
    done = finished(host, start(host, "fetch_or_error", closed))
    assert done["runtimeStatus"] == "Completed"
    assert "The HTTP request GET" in done["output"]["failed"] and closed in done["output"]["failed"]


async def test_asynchronous_pattern_polls_the_location(server):
    # DurableOrchestrationContext.CallHttpAsync: while 202 and asynchronousPatternEnabled, wait
    # Retry-After seconds and GET the Location (CreateLocationPollRequest: without x-functions-key).
    _Handler.polls.clear()
    _Handler.seen.clear()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    request = {
        "method": "GET",
        "uri": f"{server}/accepted",
        "headers": {"x-functions-key": "secret", "X-Keep": "1"},
        "asynchronousPatternEnabled": True,
    }
    response = await durable_http.call(request, sleep=sleep)
    assert response["statusCode"] == 200 and response["content"] == "finished"
    assert waits == [0.0, 0.0]
    paths = [r["path"] for r in _Handler.seen]
    assert paths == ["/accepted", "/status/1", "/status/1"]
    first, *polls = _Handler.seen
    assert first["headers"].get("x-functions-key") == "secret"
    assert all("x-functions-key" not in {k.lower() for k in p["headers"]} for p in polls)
    assert all(p["headers"].get("X-Keep") == "1" for p in polls)


async def test_asynchronous_pattern_off_returns_the_202(server):
    # DurableOrchestrationContext.CallHttpAsync: no polling when asynchronousPatternEnabled is false.
    response = await durable_http.call({"uri": f"{server}/accepted", "asynchronousPatternEnabled": False})
    assert response["statusCode"] == 202


async def test_poll_delay_defaults_without_retry_after():
    # No Retry-After: the extension's httpSettings.defaultAsyncRequestSleepTimeMilliseconds (30 s).
    assert durable_http._poll_delay({"headers": {}}, durable_http.DEFAULT_POLL_MILLISECONDS) == 30.0
    assert durable_http._poll_delay({"headers": {"retry-after": "7"}}, 1) == 7.0


async def test_token_source_and_multipart_are_refused_with_a_reason():
    # TaskHttpActivityShim refuses multipart content ("Multipart content is not supported with
    # CallHttpAsync."); a token source needs Azure credentials devhost does not have, so it says so.
    with pytest.raises(durable_http.DurableHttpError, match="managed identity"):
        await durable_http.call({"uri": "http://127.0.0.1:1/", "tokenSource": {"resource": "x"}})
    with pytest.raises(durable_http.DurableHttpError, match="Multipart"):
        await durable_http.call(
            {"uri": "http://127.0.0.1:1/", "content": "x", "headers": {"Content-Type": "multipart/form-data"}}
        )
