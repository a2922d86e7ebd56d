"""The crash campaign's entity app (plain azure-functions-durable): orchestrations that signal and call a
counter entity, with a slow activity between rounds so that kills land mid-run.

Every operation carries a tag unique in the campaign; the counter keeps how often it applied each tag,
so the audit can tell a lost operation (a tag missing) from a duplicate one (a tag applied twice).
"""

from __future__ import annotations

import random
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    state = context.get_state(lambda: {"count": 0, "tags": {}})
    time.sleep(random.uniform(0, 0.02))  # a slow entity: batches take long enough to be killed in
    if context.operation_name == "add":
        tag = context.get_input()
        state["count"] += 1
        state["tags"][tag] = state["tags"].get(tag, 0) + 1
        context.set_state(state)
        context.set_result(state["count"])
    else:
        raise NotImplementedError(context.operation_name)


@app.orchestration_trigger(context_name="context")
def count_up(context: df.DurableOrchestrationContext):
    """Each round: ``signals`` signals, a slow activity, one call; returns the calls' results."""
    args = context.get_input()
    entity = df.EntityId("Counter", args["key"])
    me = context.instance_id
    seen = []
    for r in range(args["rounds"]):
        for j in range(args["signals"]):
            context.signal_entity(entity, "add", f"{me}:{r}:s{j}")
        yield context.call_activity("pause", args["delay_ms"])
        seen.append((yield context.call_entity(entity, "add", f"{me}:{r}:c")))
    return seen


@app.activity_trigger(input_name="delay_ms")
def pause(delay_ms: int) -> int:
    time.sleep(random.uniform(0, delay_ms) / 1000)
    return delay_ms
