"""A plain azure-functions app with timer triggers (no Storage bindings, so no Azurite): an NCRONTAB
schedule, run_on_startup, and a timer that starts an orchestration through the durable client."""

from __future__ import annotations

import json
import threading

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

runs: dict[str, list] = {"every_five_minutes": [], "at_start": [], "nightly": [], "flaky_timer": []}
lock = threading.Lock()


def _record(name: str, timer: func.TimerRequest) -> None:
    with lock:
        runs[name].append({"past_due": timer.past_due, "status": timer.schedule_status})


@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
def every_five_minutes(timer: func.TimerRequest) -> None:
    _record("every_five_minutes", timer)


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=True, use_monitor=False)
def at_start(timer: func.TimerRequest) -> None:
    _record("at_start", timer)


@app.timer_trigger(schedule="0 30 2 * * *", arg_name="timer")
@app.durable_client_input(client_name="client")
async def nightly(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    _record("nightly", timer)
    await client.start_new("cleanup", client_input=len(runs["nightly"]))


@app.timer_trigger(schedule="0 0 3 1 6 *", arg_name="timer")
@app.retry(strategy="fixed_delay", max_retry_count="2", delay_interval="00:00:01")
def flaky_timer(timer: func.TimerRequest, context: func.Context) -> None:
    retry = context.retry_context
    with lock:
        runs["flaky_timer"].append(
            {
                "retry_count": retry.retry_count,
                "max_retry_count": retry.max_retry_count,
                "previous": retry.exception.message if retry.exception else None,
            }
        )
    raise RuntimeError("still broken")


@app.orchestration_trigger(context_name="context")
def cleanup(context: df.DurableOrchestrationContext):
    return f"cleanup {context.get_input()}"


@app.route(route="runs/{name}", methods=["GET"])
def get_runs(req: func.HttpRequest) -> func.HttpResponse:
    with lock:
        return func.HttpResponse(json.dumps(runs[req.route_params["name"]]), mimetype="application/json")
