"""An orchestrator whose branch depends on module-level state that changes between episodes."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
_episodes = {"count": 0}


@app.activity_trigger(input_name="value")
def step_a(value: int) -> int:
    return value


@app.activity_trigger(input_name="value")
def step_b(value: int) -> int:
    return -value


@app.orchestration_trigger(context_name="context")
def flip(context: df.DurableOrchestrationContext):
    _episodes["count"] += 1  # BAD on purpose: differs on replay
    first = yield context.call_activity("step_a" if _episodes["count"] == 1 else "step_b", 1)
    second = yield context.call_activity("step_a", 2)
    return [first, second]
