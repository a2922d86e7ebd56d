"""Large payloads on devhost (an executor output of 200 KB, an input of 500 KB: over Durable Functions'
45 KB message size) and the host's request body cap (413 with a clear message)."""

from __future__ import annotations

import hashlib
import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.cli import build, parse_args
from devhost.config.errors import DevHostError
from devhost.config.host_settings import BODY_LIMIT_SETTING, DEFAULT_MAX_BODY_BYTES, request_body_limit
from devhost.testing import DevHostHandle, run_devhost
from engine import InMemoryRunner
from tests.durable.http import call, finished, get, post, wait_for
from tests.reliability.workflows import big

ROOT = Path(__file__).resolve().parents[2]
HOST_LIMIT = (
    2 * 1024 * 1024
)  # the host's cap in this module; the app's own (WORKFLOW_MAX_BODY_BYTES) is 1 MiB
SETTINGS = {"WORKFLOW_MODULES": "tests.reliability.workflows", BODY_LIMIT_SETTING: str(HOST_LIMIT)}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    state = tmp_path_factory.mktemp("limits") / "state.sqlite"
    with run_devhost(ROOT, state=state, in_memory=False, settings=SETTINGS) as handle:
        yield handle


def _management(host: DevHostHandle, instance_id: str, query: str = "") -> dict:
    reply = get(f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance_id}{query}")
    assert reply.status == 200, reply.body
    return reply.body


def _run(host: DevHostHandle, body: dict) -> dict:
    started = post(f"{host.api_url}/workflows/r_big", body)
    assert started.status == 202, started.body
    return wait_for(started.body["runUri"], finished, timeout=60).body


async def test_a_200_kb_executor_output_crosses_activities_and_is_the_run_output(host: DevHostHandle) -> None:
    view = _run(host, {"out_kb": 200})
    assert view["runtimeStatus"] == "Completed", view["error"]
    [output] = view["outputs"]
    assert len(output["data"]) == 200 * 1024
    expected = await InMemoryRunner().run(big, {"out_kb": 200})
    assert view["outputs"] == expected.outputs_json()
    status = _management(host, view["instanceId"], "?showHistory=true&showHistoryOutput=true")
    results = [e for e in status["historyEvents"] if e["EventType"] == "TaskCompleted"]
    assert all(len(json.dumps(e["Result"])) > 200 * 1024 for e in results)  # two 200 KB step results
    assert len(json.dumps(status["customStatus"])) < 16 * 1024  # progress, never the payloads


async def test_a_500_kb_input_reaches_the_first_step(host: DevHostHandle) -> None:
    text = "".join(chr(0x61 + (i * 11) % 26) for i in range(500_000))
    view = _run(host, {"text": text, "out_kb": 1})
    assert view["runtimeStatus"] == "Completed", view["error"]
    [output] = view["outputs"]
    assert output["input_chars"] == 500_000
    assert output["input_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    status = _management(host, view["instanceId"])
    stored = status["input"]  # the SDK client sends inputs as JSON text holding JSON
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert len(stored["input"]["text"]) == 500_000
    assert len(json.dumps(status["customStatus"])) < 16 * 1024


def test_bodies_over_the_host_limit_get_413_with_a_clear_message(host: DevHostHandle) -> None:
    over = json.dumps({"text": "x" * HOST_LIMIT}).encode()
    for url in (
        f"{host.api_url}/workflows/r_big",
        f"{host.base_url}/runtime/webhooks/durabletask/instances/anything/raiseEvent/approval",
    ):
        reply = call("POST", url, raw=over)
        assert reply.status == 413, url
        assert "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT" in reply.body["error"]
        assert f"{HOST_LIMIT} bytes" in reply.body["Message"]


def test_a_chunked_body_over_the_host_limit_gets_413(host: DevHostHandle) -> None:
    chunk = b"x" * 65_536
    connection = http.client.HTTPConnection("127.0.0.1", host.host.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/workflows/r_big",
            body=iter([chunk] * (HOST_LIMIT // len(chunk) + 2)),
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        reply = connection.getresponse()
        assert reply.status == 413
        assert "too large" in json.loads(reply.read())["error"]
    finally:
        connection.close()


def test_under_the_host_limit_the_app_applies_its_own_limit(host: DevHostHandle) -> None:
    body = json.dumps({"text": "x" * (1024 * 1024 + 10)}).encode()  # over WORKFLOW_MAX_BODY_BYTES (1 MiB)
    reply = call("POST", f"{host.api_url}/workflows/r_big", raw=body)
    assert reply.status == 413
    assert "WORKFLOW_MAX_BODY_BYTES" in reply.body["error"]


def test_the_limit_comes_from_the_flag_then_the_app_setting_then_the_default() -> None:
    assert request_body_limit(None, {}) == DEFAULT_MAX_BODY_BYTES == 100 * 1024 * 1024
    assert request_body_limit(None, {BODY_LIMIT_SETTING: "4096"}) == 4096
    assert request_body_limit(123, {BODY_LIMIT_SETTING: "4096"}) == 123
    for bad in ("lots", "0", "-5"):
        with pytest.raises(DevHostError, match=BODY_LIMIT_SETTING):
            request_body_limit(None, {BODY_LIMIT_SETTING: bad})
    with pytest.raises(DevHostError, match="--max-body-bytes"):
        request_body_limit(0, {})


def test_the_cli_flag_reaches_the_host(tmp_path: Path) -> None:
    args = parse_args(["--app-dir", str(ROOT), "--in-memory", "--max-body-bytes", "5000"])
    assert build(args).options.max_body_bytes == 5000
