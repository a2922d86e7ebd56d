"""The standard settings decide what is exported, in a process configured from its environment alone
(``tests/telemetry/probe.py``): nothing without them, OTLP/HTTP to ``OTEL_EXPORTER_OTLP_ENDPOINT``, Azure
Monitor through its distro with ``APPLICATIONINSIGHTS_CONNECTION_STRING``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.telemetry.otlp import Receiver

ROOT = Path(__file__).resolve().parents[2]
_OURS = ("OTEL_", "APPLICATIONINSIGHTS_", "OPENAI_", "AZURE_OPENAI_")


def _probe(
    settings: dict[str, str], *, wrap: list[str] | None = None, ingestion: bool = False
) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(settings, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "tests.telemetry.probe", *(["--ingestion"] if ingestion else [])]
    done = subprocess.run(
        [*(wrap or []), *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_without_settings_nothing_is_exported_and_the_sdk_is_not_even_imported() -> None:
    seen = _probe({})
    assert (seen["configured"], seen["on"], seen["status"]) == ("off", False, "waiting_for_approval")
    assert seen["sdk_modules"] == []


def test_the_otlp_endpoint_setting_exports_traces_and_metrics(receiver: Receiver) -> None:
    seen = _probe({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
    assert (seen["configured"], seen["on"]) == ("otlp", True)
    receiver.wait_for(lambda r: any(s.name == "run workflow tm_traced" for s in r.spans))
    [run] = [s for s in receiver.spans if s.name == "run workflow tm_traced"]
    assert run.resource["service.name"] == "durable-agent-workflows"
    steps = [s for s in receiver.spans if s.name.startswith("step ")]
    assert len(steps) == 5 and {s.parent_id for s in steps} == {run.span_id}
    receiver.wait_for(lambda r: bool(r.metric("workflow.steps.started")))
    assert receiver.total("workflow.steps.started") == 5
    assert receiver.total("workflow.approvals.pending") == 1


def test_the_service_name_setting_names_the_service(receiver: Receiver) -> None:
    _probe({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_SERVICE_NAME": "refunds-prod"})
    receiver.wait_for(lambda r: bool(r.spans))
    assert {s.resource["service.name"] for s in receiver.spans} == {"refunds-prod"}


def test_otel_sdk_disabled_wins_over_an_endpoint(receiver: Receiver) -> None:
    seen = _probe({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_SDK_DISABLED": "true"})
    assert (seen["configured"], seen["on"]) == ("disabled", False)
    assert receiver.spans == [] and receiver.requests == []


def _isolated() -> list[str]:
    """A network namespace with only loopback, up: the Azure Monitor distro cannot reach anything else."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs unshare and ip (util-linux, iproute2)")
    wrap = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "isolated"]
    if subprocess.run([*wrap, "true"], capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot make a network namespace here (needs root or user namespaces)")
    return wrap


def test_the_connection_string_sends_to_azure_monitor_through_its_distro() -> None:
    wrap = _isolated()
    seen = _probe(
        {
            # The probe names its own loopback ingestion endpoint; these keep the distro's own extras
            # (its usage statistics, the Azure VM metadata probe) from trying to leave the namespace.
            "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
            "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel",
            # The distro keeps 5 traces a second by default, from an empty budget: keep every one.
            "OTEL_TRACES_SAMPLER": "microsoft.fixed_percentage",
            "OTEL_TRACES_SAMPLER_ARG": "1.0",
        },
        wrap=wrap,
        ingestion=True,
    )
    assert (seen["configured"], seen["on"]) == ("azure_monitor", True)
    assert "run workflow tm_traced" in seen["azure_monitor_items"]
    assert "step receive (tm_traced, superstep 1, item 0, attempt 1)" in seen["azure_monitor_items"]
    assert "Microsoft.ApplicationInsights.Metric" in seen["azure_monitor_kinds"]
