"""The OpenAPI document and the behaviour agree, as a third-party fuzzer sees them.

schemathesis (pinned in requirements-dev.txt) runs every phase (examples, coverage, fuzzing, stateful)
from ``/api/openapi.json`` against devhost serving the app's own workflows, once in open mode and once
with ``--require-keys`` (the keys given through the document's security schemes, never as parameters),
with the checks not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance and negative_data_rejection. No failure is allowed.

The CLI runs in a subprocess: schemathesis 4's pytest integration covers the examples, coverage and
fuzzing phases one operation per test, and the stateful phase (runs started, then read, answered,
terminated through the document's links) only through a separate state machine; the CLI runs all of
them, seeded, exactly as a third party would, and writes a JSON report to assert on.

Before the fuzzing, a few runs are started (waiting for a person, failed, failed by the orchestrator),
so the runs lists hand real instance ids to the operations that read a run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevHostHandle, run_devhost
from tests.durable.http import call, finished, post, wait_for

ROOT = Path(__file__).resolve().parents[2]
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
SEED = 20261203
EXAMPLES = 50  # per operation and phase: about 4,000 cases and 30 s a mode
RUNS: dict[str, tuple[str, dict[str, Any]]] = {
    "seed-expense": ("expense_claim", {"employee": "ada", "title": "Travel", "amount": 1250}),
    "seed-order": ("order_cancellation", {"order_id": "ORD-201200", "reason": "Found it cheaper elsewhere"}),
    "seed-content": (
        "content_review",
        {"title": "Hiring post", "author": "alan", "draft": "We are hiring engineers.", "max_rounds": 1},
    ),
    "seed-not-found": (
        "order_cancellation",
        {"order_id": "ORD-999999", "reason": "Found it cheaper elsewhere"},
    ),
    "seed-rounded": ("expense_claim", {"employee": "ada", "title": "Taxi", "amount": 0.001}),
}


def _start_runs(api: str, headers: dict[str, str]) -> list[str]:
    """Start RUNS and wait until each has finished or waits for a person; the request ids asked."""
    for instance_id, (workflow, body) in RUNS.items():
        started = post(f"{api}/workflows/{workflow}?instanceId={instance_id}", body, headers=headers)
        assert started.status == 202, started.body
    key = headers.get("x-functions-key", "")
    asked: list[str] = []
    for instance_id, (workflow, _) in RUNS.items():
        view = wait_for(f"{api}/workflows/{workflow}/runs/{instance_id}?code={key}", _settled).body
        asked += [p["request_id"] for p in view["pendingApprovals"]]
    return asked


def _settled(reply: Any) -> bool:
    return finished(reply) or reply.body.get("phase") == "waiting_for_approval"


def _config(tmp_path: Path, host: DevHostHandle, asked: list[str]) -> Path:
    """schemathesis.toml. The started runs' ids and the requests they ask are offered half the time, so
    answers, links and approvals are read and made, not only refused as unknown. ``until=settled``:
    ``?wait=60&until=finished`` on a run that waits for a person holds the answer for a minute, as
    documented, which a time-boxed test cannot afford (tests/functions/test_api_contract checks ``until``).
    Under --require-keys, the keys for the document's security schemes."""
    lines = [
        "[dictionaries.runs]",
        f"values = {json.dumps(sorted(RUNS))}",
        "[dictionaries.requests]",
        f"values = {json.dumps(sorted(set(asked)))}",
        "[parameters]",
        '"query.until" = "settled"',
        "[[operations]]",
        'include-path-regex = "/approvals/"',
        'parameters = { "path.instanceId" = { dictionary = "runs", probability = 0.5 }, '
        '"path.requestId" = { dictionary = "requests", probability = 0.5 } }',
    ]
    keys = host.host.keys
    if keys is not None:
        lines += [
            "[auth.openapi.functionKeyHeader]",
            f'api_key = "{keys.function}"',
            "[auth.openapi.masterKeyHeader]",
            f'api_key = "{keys.master}"',
        ]
    path = tmp_path / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _schemathesis(tmp_path: Path, config: Path, schema_url: str) -> tuple[int, str, dict[str, Any]]:
    """Run the CLI; its exit code, its output, and its JSON report."""
    report = tmp_path / "report.json"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        schema_url,
        "--checks",
        ",".join(CHECKS),
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES),
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    (tmp_path / "schemathesis.txt").write_text(output)  # the whole story, beside the report
    return done.returncode, output, json.loads(report.read_text()) if report.exists() else {}


@pytest.mark.parametrize("require_keys", [False, True], ids=["open", "require-keys"])
def test_schemathesis_finds_no_failure(tmp_path: Path, require_keys: bool) -> None:
    with run_devhost(ROOT, require_keys=require_keys) as host:
        keys = host.host.keys
        headers = {"x-functions-key": keys.function} if keys is not None else {}
        asked = _start_runs(host.api_url, headers)
        schema_url = f"{host.api_url}/openapi.json" + (f"?code={keys.function}" if keys is not None else "")
        if keys is not None:  # the document asks for the key; the scheme, not a parameter, carries it
            assert call("GET", f"{host.api_url}/openapi.json").status == 401
        code, output, report = _schemathesis(tmp_path, _config(tmp_path, host, asked), schema_url)
    summary = output[output.find("SUMMARY") :] if "SUMMARY" in output else output[-3000:]
    failures = output[output.find("FAILURES") : output.find("SUMMARY")] if "FAILURES" in output else ""
    assert code == 0 and report.get("failures") == [] and report.get("errors") == [], (
        failures[:20_000] + summary
    )
    assert report["operations"]["tested"] == report["operations"]["total"] > 0
    assert {phase["status"] for phase in report["phases"].values()} == {"success"}, report["phases"]
    assert report["test_cases"]["generated"] >= 1000, report["test_cases"]
    assert report["warnings"]["missing_auth"] == [], report["warnings"]  # the keys went through


def test_a_token_that_is_not_ascii_is_refused() -> None:
    with run_devhost(ROOT) as host:
        api = host.api_url
        started = post(f"{api}/workflows/expense_claim?instanceId=token-run", RUNS["seed-expense"][1])
        assert started.status == 202
        pending = wait_for(
            f"{api}/workflows/expense_claim/runs/token-run", lambda r: r.body["pendingApprovals"]
        )
        respond = pending.body["pendingApprovals"][0]["respond_uri"]
        reply = post(f"{respond}?token=a.%C3%A9", {"approved": True})
        assert reply.status == 403, reply.body
