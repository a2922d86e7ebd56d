"""A tiny JSON-over-HTTP client for end-to-end tests (stdlib only: a real socket, no mocks)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


def call(
    method: str,
    url: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
            status, got = response.status, dict(response.headers)
    except urllib.error.HTTPError as err:
        payload, status, got = err.read(), err.code, dict(err.headers)
    try:
        parsed = json.loads(payload) if payload else None
    except json.JSONDecodeError:
        parsed = payload.decode(errors="replace")
    return Reply(status, parsed, got)


def get(url: str, *, headers: dict[str, str] | None = None) -> Reply:
    return call("GET", url, headers=headers)


def post(url: str, body: Any = None, **kwargs: Any) -> Reply:
    return call("POST", url, body, **kwargs)


def wait_for(url: str, predicate: Any, *, timeout: float = 60.0, interval: float = 0.05) -> Reply:
    """Poll ``url`` until ``predicate(reply)`` holds; fail with the last reply otherwise."""
    deadline = time.monotonic() + timeout
    reply = get(url)
    while not predicate(reply):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting on {url}: last reply {reply.status} {reply.body}")
        time.sleep(interval)
        reply = get(url)
    return reply


def finished(reply: Reply) -> bool:
    return (
        reply.status == 200
        and isinstance(reply.body, dict)
        and reply.body.get("runtimeStatus")
        in (
            "Completed",
            "Failed",
            "Terminated",
        )
    )


def waiting(reply: Reply) -> bool:
    return reply.status == 200 and bool(reply.body.get("pendingApprovals"))
