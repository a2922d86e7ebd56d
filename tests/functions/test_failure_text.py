"""A failure the run did not record itself reaches callers as a type and a message, never a traceback."""

from __future__ import annotations

import pytest

from engine.core.executor import executor
from engine.core.graph import WorkflowBuilder
from engine.durable.client import InstanceStatus
from engine.functions.run_view import Page, run_view, unexpected_failure

TRACE = (
    'Traceback (most recent call last):\n  File "/home/site/wwwroot/engine/durable/answers.py", line 130, '
    "in verify\n    if not hmac.compare_digest(expected, envelope.sig):\nTypeError: comparing strings with "
    "non-ASCII characters is not supported\n"
)


@pytest.mark.parametrize(
    ("output", "kind", "message"),
    [
        (
            f"Orchestrator function 'expense_claim' failed: Activity function 'verify' failed: TypeError: "
            f"comparing strings \n {TRACE}",
            "OrchestrationFailed",
            "Activity function 'verify' failed: TypeError: comparing strings",
        ),
        (f"ValueError: bad value\n{TRACE}", "ValueError", "bad value"),
        (f"builtins.KeyError: 'x' \n {TRACE}", "KeyError", "'x'"),
        (TRACE, "OrchestrationFailed", "the orchestration failed"),
        (None, "OrchestrationFailed", "the orchestration failed"),
        ("x" * 5000, "OrchestrationFailed", "x" * 2000),
    ],
)
def test_the_callers_failure_has_no_traceback(output: object, kind: str, message: str) -> None:
    error = unexpected_failure(output)
    assert (error.type, error.message) == (kind, message)
    assert "Traceback" not in error.message and "/home/site" not in error.message


@executor(id="noop")
def noop(value: int) -> int:
    return value


def test_a_failed_runs_view_shows_the_type_and_message_only() -> None:
    workflow = WorkflowBuilder("t_noop", start=noop).build()
    status = InstanceStatus(
        instance_id="r1",
        name="t_noop",
        runtime="Failed",
        output=f"Orchestrator function 't_noop' failed: RuntimeError: kaput \n {TRACE}",
    )
    view = run_view(workflow, status, None, "http://x/runs/r1", lambda _: True, Page(0, 100))
    assert view["error"] == {"executor_id": None, "type": "RuntimeError", "message": "kaput"}
