"""The OpenAPI document comes from the route table that registers the routes: every route the app
registers is documented, with its method, and nothing is documented that is not registered."""

from __future__ import annotations

import re

import azure.durable_functions as df
import azure.functions as func

from engine.functions.app import WorkflowApp
from engine.functions.openapi import openapi_document
from workflows import ALL

PARAM = re.compile(r"\{\*?([A-Za-z_]+)\}")


def registered(prefix: str = "workflows") -> set[tuple[str, str]]:
    """(OpenAPI path template, method) of every HTTP function the app registers."""
    app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(WorkflowApp(ALL, route_prefix=prefix).blueprint)
    found = set()
    for function in app.get_functions():
        trigger = function.get_trigger()
        if trigger.get_binding_name() != "httpTrigger":
            continue
        for method in trigger.methods:
            found.add(("/" + PARAM.sub(r"{\1}", trigger.route), method.value.lower()))
    return found


def documented(prefix: str = "workflows") -> set[tuple[str, str]]:
    document = openapi_document(ALL, "http://localhost/api", prefix)
    found = set()
    for path, operations in document["paths"].items():
        generic = path
        for wf in ALL:
            generic = generic.replace(f"/{prefix}/{wf.name}", f"/{prefix}/{{name}}")
        found |= {(generic, method) for method in operations}
    return found


def test_every_registered_route_is_documented_and_nothing_else() -> None:
    assert registered() == documented()


def test_a_custom_route_prefix_is_documented_too() -> None:
    assert registered("flows") == documented("flows")


def test_the_runs_list_and_per_workflow_routes_are_described() -> None:
    document = openapi_document(ALL, "http://localhost/api", "workflows")
    runs = document["paths"]["/runs"]["get"]
    assert {p["name"] for p in runs["parameters"]} == {"workflow", "status", "top", "skip", "search"}
    view = document["paths"]["/workflows/expense_claim/runs/{instanceId}"]["get"]
    assert {p["name"] for p in view["parameters"]} >= {
        "instanceId",
        "wait",
        "approvals_skip",
        "approvals_top",
    }
    start = document["paths"]["/workflows/expense_claim"]["post"]
    assert start["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ExpenseClaim"
    }
    answer = document["paths"]["/workflows/expense_claim/runs/{instanceId}/approvals/{requestId}"]["post"]
    assert "400" in answer["responses"] and "409" in answer["responses"]
    assert document["paths"]["/dashboard/{path}"]["get"]["security"] == []


def test_the_run_view_and_runs_pages_document_their_answers() -> None:
    document = openapi_document(ALL, "http://localhost/api", "workflows")
    schemas = document["components"]["schemas"]

    def answer(path: str) -> dict:
        return document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    assert answer("/runs") == {"$ref": "#/components/schemas/RunsPage"}
    assert answer("/workflows/expense_claim/runs") == {"$ref": "#/components/schemas/RunsPage"}
    assert answer("/workflows/expense_claim/runs/{instanceId}") == {"$ref": "#/components/schemas/RunView"}
    assert "durationMs" in schemas["RunSummary"]["properties"]
    view = schemas["RunView"]["properties"]
    assert {"durationMs", "input", "closedApprovals", "timeline"} <= set(view)
    assert {"answer", "decided_by", "via", "at"} <= set(schemas["ClosedApproval"]["properties"])
    step = schemas["StepEntry"]["properties"]
    assert {"input", "output", "error", "attempt", "scheduled", "completed", "earlier"} <= set(step)
    assert {"outcome", "answer", "decided_by"} <= set(schemas["ApprovalEntry"]["properties"])
    assert {"executions", "started", "entries"} <= set(schemas["Timeline"]["properties"])
