"""A plain azure-functions-durable app for the devhost throughput benchmark (no workflow engine)."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def five_steps(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    value = context.get_input() or 0
    for _ in range(5):
        value = yield context.call_activity("add_one", value)
    return value


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    width = context.get_input() or 0
    results = yield context.task_all([context.call_activity("add_one", i) for i in range(width)])
    return sum(results)


@app.activity_trigger(input_name="value")
def add_one(value: int) -> int:
    return value + 1
