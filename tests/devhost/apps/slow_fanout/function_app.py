"""Fan-out of slow activities, for the kill -9 crash test."""

from __future__ import annotations

import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="n")
def slow_square(n: int) -> int:
    time.sleep(0.25)
    return n * n


@app.orchestration_trigger(context_name="context")
def slow_fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    squares = yield context.task_all([context.call_activity("slow_square", i) for i in range(count)])
    total = yield context.call_activity("slow_square", 3)
    return {"sum": sum(squares), "last": total}
