"""Small stdlib HTTP helpers for driving devhost in tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APPS = Path(__file__).parent / "apps"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


def call(
    method: str,
    url: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Reply(resp.status, dict(resp.headers), resp.read().decode())
    except urllib.error.HTTPError as err:
        return Reply(err.code, dict(err.headers), err.read().decode())


def status(host: Any, iid: str, query: str = "") -> Reply:
    return call("GET", f"{host.base_url}/runtime/webhooks/durabletask/instances/{iid}{query}")


def start(host: Any, name: str, payload: Any = None, instance_id: str | None = None) -> str:
    """Start through the app's own SDK-client starter; returns the instance id."""
    url = f"{host.api_url}/start/{name}" + (f"/{instance_id}" if instance_id else "")
    reply = call("POST", url, payload)
    assert reply.status == 202, reply.text
    return reply.json["id"]


def start_raw(
    host: Any, name: str, payload: Any = None, instance_id: str | None = None, *, raw: bytes | None = None
) -> Reply:
    """Start through the public management API (no app code involved); ``raw``: the body as it is."""
    url = f"{host.base_url}/runtime/webhooks/durabletask/orchestrators/{name}" + (
        f"/{instance_id}" if instance_id else ""
    )
    return call("POST", url, payload, raw=raw)


def finished(host: Any, iid: str, timeout: float = 20.0) -> dict[str, Any]:
    host.wait_until_idle(timeout)
    reply = status(host, iid)
    assert reply.status == 200, f"{reply.status}: {reply.text}"
    return reply.json
