"""Requests that are not valid HTTP/1.1, sent raw over a socket. The Functions host's server (Kestrel)
refuses them before any function runs (BadHttpRequestException, by RequestRejectionReason): a request
line too long is 414, headers too large 431, anything else malformed 400. devhost answers them as every
other error it answers, JSON ``{"error": ...}`` (and the management API's ``Message``), and never quotes
the request back: every case carries a marker in the offending bytes, which must not come back."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS

MARKER = b"ECHO7F3A"
HOST = b"Host: localhost\r\n"


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(APPS / "durable_basic") as handle:
        yield handle


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    @property
    def error(self) -> str:
        parsed = json.loads(self.body)
        assert parsed["error"] == parsed["Message"]
        return str(parsed["error"])


def exchange(port: int, *parts: bytes, pause: float = 0.0) -> Answer:
    """Send ``parts`` (``pause`` seconds apart) on one connection; the answer once the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        for i, part in enumerate(parts):
            if i and pause:
                time.sleep(pause)
            connection.sendall(part)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Answer(int(lines[0].split()[1]), headers.get("content-type", ""), body)


def refused(answer: Answer, status: int) -> str:
    assert answer.status == status, answer
    assert answer.content_type.startswith("application/json"), answer
    assert MARKER not in answer.body and MARKER.lower() not in answer.body.lower(), answer.body
    return answer.error


def test_a_url_over_the_request_line_limit_is_414(host):
    url = b"/api/" + MARKER + b"a" * 9000
    error = refused(exchange(host.host.port, b"GET " + url + b" HTTP/1.1\r\n" + HOST + b"\r\n"), 414)
    assert "URL is too long" in error


def test_a_header_over_the_header_limit_is_431(host):
    big = b"X-Big: " + MARKER + b"b" * 9000 + b"\r\n"
    error = refused(exchange(host.host.port, b"GET /api/x HTTP/1.1\r\n" + HOST + big + b"\r\n"), 431)
    assert "header is too long" in error


def test_too_many_headers_are_431(host):
    many = b"".join(b"X-H%d: " % i + MARKER + b"\r\n" for i in range(200))
    error = refused(exchange(host.host.port, b"GET /api/x HTTP/1.1\r\n" + HOST + many + b"\r\n"), 431)
    assert "too many headers" in error


def test_bad_chunked_encoding_is_400(host):
    request = b"POST /api/start/chaining HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n"
    error = refused(exchange(host.host.port, request + MARKER + b"\r\nxx\r\n0\r\n\r\n"), 400)
    assert "chunk" in error


def test_bad_chunked_encoding_after_the_request_started_is_400(host):
    # The headers and a good chunk arrive first, so the request is under way when the bad chunk comes:
    # the refusal then reaches devhost's own handler, which answers it the same way.
    request = b"POST /runtime/webhooks/durabletask/orchestrators/chaining HTTP/1.1\r\n" + HOST
    request += b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n"
    answer = exchange(host.host.port, request, MARKER + b"\r\n\r\n", pause=0.3)
    refused(answer, 400)


def test_content_length_with_transfer_encoding_is_400(host):
    request = b"POST /api/start/chaining HTTP/1.1\r\n" + HOST + b"X-Marker: " + MARKER + b"\r\n"
    request += b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    error = refused(exchange(host.host.port, request), 400)
    assert "Transfer-Encoding" in error and "b'" not in error


def test_a_nul_in_a_header_is_400(host):
    request = b"GET /api/x HTTP/1.1\r\n" + HOST + b"X-A: " + MARKER + b"\x00tail\r\n\r\n"
    error = refused(exchange(host.host.port, request), 400)
    assert "header" in error


def test_an_invalid_method_is_400(host):
    error = refused(exchange(host.host.port, MARKER + b"@ /api/x HTTP/1.1\r\n" + HOST + b"\r\n"), 400)
    assert "method" in error


def test_the_internal_listener_answers_the_same_way(host):
    # The SDK client's listener (another port) runs the same parser, and refuses the same way.
    port = int(host.host.rpc_base_url.split(":")[2].split("/")[0])
    refused(exchange(port, MARKER + b"@ / HTTP/1.1\r\n" + HOST + b"\r\n"), 400)
    url = b"/durabletask/" + MARKER + b"a" * 9000
    refused(exchange(port, b"GET " + url + b" HTTP/1.1\r\n" + HOST + b"\r\n"), 414)


def test_a_request_within_the_limits_is_served(host):
    # The limits let through what they should: a URL of 8,000 bytes reaches routing (a JSON 404).
    url = b"/api/" + b"a" * 8000
    answer = exchange(host.host.port, b"GET " + url + b" HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n")
    assert answer.status == 404 and "No HTTP function matches" in json.loads(answer.body)["error"]
