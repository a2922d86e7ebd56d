from __future__ import annotations

from devhost.testing import run_devhost
from tests.devhost.helpers import APPS, finished, start_raw


def test_non_deterministic_orchestrator_is_failed_with_expected_and_actual():
    with run_devhost(APPS / "nondeterministic") as host:
        assert start_raw(host, "flip", None, instance_id="nd-1").status == 202
        done = finished(host, "nd-1")
        assert done["runtimeStatus"] == "Failed"
        assert "Non-deterministic" in done["output"]
        assert "'step_a'" in done["output"] and "'step_b'" in done["output"]
