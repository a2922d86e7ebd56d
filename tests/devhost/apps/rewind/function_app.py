"""A plain azure-functions-durable app whose activities fail until a file says they may succeed.

Every activity call appends a line to ``calls.log`` in the folder ``REWIND_APP_STATE`` names, so the
tests see which activities a rewind runs again and which it leaves alone.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _state() -> Path:
    return Path(os.environ["REWIND_APP_STATE"])


def _record(name: str, value: str) -> None:
    with (_state() / "calls.log").open("a") as log:
        log.write(f"{name}:{value}\n")


@app.activity_trigger(input_name="value")
def ok(value: str) -> str:
    _record("ok", value)
    return value.upper()


@app.activity_trigger(input_name="value")
def fixable(value: str) -> str:
    """Fails until a file named ``fixed-<value>`` exists (the "fix" a test deploys before rewinding)."""
    _record("fixable", value)
    if not (_state() / f"fixed-{value}").exists():
        raise RuntimeError(f"{value} is not fixed yet")
    return f"fixed {value}"


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("ok", "a")
    second = yield context.call_activity("fixable", "b")
    third = yield context.call_activity("ok", "c")
    return [first, second, third]


@app.orchestration_trigger(context_name="context")
def fan(context: df.DurableOrchestrationContext):
    # task_all fails as soon as one task fails; the orchestrator then waits for the others itself, so
    # their results are in the history when the failed one is rewound.
    tasks = [context.call_activity("ok", "x"), context.call_activity("fixable", "y")]
    tasks.append(context.call_activity("ok", "z"))
    try:
        return (yield context.task_all(tasks))
    except Exception:
        for task in tasks:
            with contextlib.suppress(Exception):
                yield task
        raise


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    before = yield context.call_activity("ok", "p")
    child = yield context.call_sub_orchestrator("chain", None, f"{context.instance_id}-child")
    return [before, child]


@app.orchestration_trigger(context_name="context")
def waits(context: df.DurableOrchestrationContext):
    return (yield context.wait_for_external_event("go"))
