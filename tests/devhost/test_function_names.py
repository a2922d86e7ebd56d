"""Function names match without regard to case, as in the Functions host and the Durable extension
(Azure/azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/FunctionName.cs: Equals is
StringComparison.OrdinalIgnoreCase, and the extension keeps its known orchestrators, activities and
entities in dictionaries keyed by FunctionName). The app (apps/names_in_any_case) names every function in
another case than it declares it, as the Python worker's end-to-end durable app does."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import azure.functions as func
import pytest

from devhost.config.errors import DevHostError
from devhost.functions.indexing import index_app
from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS, call, finished, start_raw

WEBHOOK = "/runtime/webhooks/durabletask"
OUTPUT = ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(APPS / "names_in_any_case") as handle:
        yield handle


def test_the_client_binding_starts_an_orchestrator_named_in_another_case(host, caplog):
    # DurableClient.StartNewAsync -> DurableTaskExtension.ThrowIfFunctionDoesNotExist(FunctionName): the
    # name matches in any case; the instance keeps the name it was started by (CreateOrchestrationInstance
    # is given the caller's string). Activities ("Hello", "HELLO" with retries), the sub-orchestration
    # ("Child_Orchestrator") and the entity ("COUNTER") are found the same way.
    caplog.set_level(logging.INFO, logger="devhost")
    reply = call("POST", f"{host.api_url}/orchestrators/DurableFunctionsOrchestrator")
    assert reply.status == 202, reply.text
    done = finished(host, reply.json["id"])
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == [*OUTPUT, 2]
    assert done["name"] == "DurableFunctionsOrchestrator"
    # The host logs a function's executions under its own name, whatever case called it.
    lines = [r.getMessage() for r in caplog.records]
    executing = {line.split("'")[1] for line in lines if line.startswith("Executing")}
    assert {"Functions.hello", "Functions.durablefunctionsorchestrator", "Functions.child_orchestrator"} <= (
        executing
    )
    assert not {"Functions.Hello", "Functions.HELLO", "Functions.hElLo"} & executing


def test_the_start_webhook_matches_the_name_in_any_case(host):
    # HttpApiHandler.HandleStartOrchestratorRequestAsync -> StartNewAsync: the {functionName} of
    # POST /runtime/webhooks/durabletask/orchestrators/{functionName} is a FunctionName too.
    reply = start_raw(host, "DURABLEFUNCTIONSORCHESTRATOR")
    assert reply.status == 202, reply.text
    done = finished(host, reply.json["id"])
    assert done["runtimeStatus"] == "Completed" and done["output"][:3] == OUTPUT
    # A name that matches no function in any case is still the extension's 400.
    missing = start_raw(host, "NoSuchOrchestrator")
    assert missing.status == 400 and "doesn't exist" in missing.json["Message"]


def test_the_webhooks_route_literals_match_in_any_case(host):
    # The extension's routes are ASP.NET route templates, whose literal segments match in any case, and
    # it compares the operation (terminate, raiseEvent, ...) with OrdinalIgnoreCase.
    reply = call("POST", f"{host.base_url}{WEBHOOK}/Orchestrators/child_orchestrator", "Kyoto")
    assert reply.status == 202, reply.text
    iid = reply.json["id"]
    host.wait_until_idle()
    status = call("GET", f"{host.base_url}{WEBHOOK}/INSTANCES/{iid}")
    assert status.status == 200 and status.json["output"] == "Hello Kyoto!"


def test_two_functions_whose_names_differ_only_in_case_are_a_start_up_error():
    # One name would reach both in the host; devhost says so instead of picking one.
    app = func.FunctionApp()

    @app.function_name("Work")
    @app.activity_trigger(input_name="x")
    def work(x: str) -> str:
        return x

    @app.function_name("work")
    @app.activity_trigger(input_name="x")
    def other_work(x: str) -> str:
        return x

    with pytest.raises(DevHostError, match="'Work' and 'work' differ only in case"):
        index_app(app)
