"""``python -m engine serve`` and ``worker``: bad input is one line naming what is wrong, and exit code 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.durable.conftest import ROOT
from tests.durable.hostings import free_port


def engine(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DURABLE_TASK_SCHEDULER_CONNECTION_STRING",)}
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=ROOT,
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize(
    ("backend", "env", "says"),
    [
        ("kafka", {}, "unknown --backend 'kafka'"),
        ("durabletask:nohost", {}, "durabletask:HOST:PORT"),
        ("durabletask:localhost:{free}", {}, "cannot reach a Durable Task sidecar at localhost:"),
        ("dts", {}, "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"),
        (
            "dts",
            {"DURABLE_TASK_SCHEDULER_CONNECTION_STRING": "Endpoint=ftp://x;TaskHub=h"},
            "Endpoint must be",
        ),
        (
            "dts",
            {"DURABLE_TASK_SCHEDULER_CONNECTION_STRING": "Endpoint=https://x.durabletask.io"},
            "names no TaskHub (and TASKHUB_NAME is not set)",
        ),
        (
            "dts",
            {"DURABLE_TASK_SCHEDULER_CONNECTION_STRING": "Endpoint=https://x;TaskHub=h;Authentication=Magic"},
            "Authentication must be DefaultAzure, ManagedIdentity or None",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    command: str, backend: str, env: dict[str, str], says: str
) -> None:
    done = engine(command, "--backend", backend.format(free=free_port()), env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_a_worker_cannot_take_the_memory_backend_of_another_process() -> None:
    done = engine("worker", "--backend", "durabletask:memory")
    assert done.returncode == 2 and "lives in the process that starts it" in done.stderr, done.stderr


def test_a_bad_sweep_interval_is_one_line_naming_the_setting() -> None:
    done = engine("serve", "--port", str(free_port()), env={"ENGINE_STREAMS_SWEEP_SECONDS": "soon"})
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == ["error: ENGINE_STREAMS_SWEEP_SECONDS='soon' is not a positive number of seconds"]


def test_a_stopped_serve_says_nothing_of_its_own_cancelled_streams(tmp_path: Path) -> None:
    # Stopping the worker cancels its work-item stream, which durabletask logs as an error: on every
    # Ctrl-C the console showed a gRPC "Error in work item stream ... Locally cancelled" report.
    from tests.durable.hostings import engine_serve
    from tests.durable.http import post, wait_for

    log = tmp_path / "serve.log"
    with engine_serve("tests.durable.versioned_v1", log) as served:
        run = post(f"{served.api_url}/workflows/t_deploy", {"value": 5}).body["runUri"]
        # The worker has taken the run's first work items: it waits for a person now.
        wait_for(run, lambda r: r.body.get("pendingApprovals"), timeout=60)
        served.process.send_signal(signal.SIGINT)
        assert served.process.wait(timeout=30) == 0
    said = log.read_text()
    assert "serving http://" in said
    assert "Error in work item stream" not in said and "Traceback" not in said, said
