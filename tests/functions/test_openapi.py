"""The OpenAPI document comes from the route table that registers the routes: every route the app
registers is documented, with its method, and nothing is documented that is not registered."""

from __future__ import annotations

import re

import azure.durable_functions as df
import azure.functions as func

from engine.functions.app import WorkflowApp
from engine.functions.openapi import openapi_document
from engine.functions.routes import ROUTES
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
    document = openapi_document(ROUTES, ALL, "http://localhost/api", prefix)
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
    document = openapi_document(ROUTES, ALL, "http://localhost/api", "workflows")
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
    document = openapi_document(ROUTES, ALL, "http://localhost/api", "workflows")
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


def test_function_keys_are_a_security_scheme_required_only_where_the_host_checks_them() -> None:
    keyed = openapi_document(ROUTES, ALL, "http://localhost/api", "workflows", keys_checked=True)
    assert keyed["security"] == [{"functionKey": []}, {"functionKeyHeader": []}]
    schemes = keyed["components"]["securitySchemes"]
    assert (schemes["functionKey"]["in"], schemes["functionKey"]["name"]) == ("query", "code")
    assert (schemes["functionKeyHeader"]["in"], schemes["functionKeyHeader"]["name"]) == (
        "header",
        "x-functions-key",
    )
    links = keyed["paths"]["/workflows/expense_claim/runs/{instanceId}/approvals/{requestId}/links"]["post"]
    assert links["security"] == [{"masterKey": []}, {"masterKeyHeader": []}]
    assert "401" in links["responses"] and "401" in keyed["paths"]["/runs"]["get"]["responses"]
    assert keyed["paths"]["/dashboard/{path}"]["get"]["security"] == []
    for path in keyed["paths"].values():
        for operation in path.values():
            # The key is never a parameter: a client sends it the way its scheme says.
            assert "code" not in {p["name"] for p in operation["parameters"]}

    open_ = openapi_document(ROUTES, ALL, "http://localhost/api", "workflows", keys_checked=False)
    assert "security" not in open_ and "securitySchemes" not in open_["components"]
    for path in open_["paths"].values():
        for operation in path.values():
            assert operation.get("security", []) == []
            # No key is asked; an answer's own 401 (an approval for named approvers) stays.
            assert "401" not in operation["responses"] or operation["operationId"].startswith("approve_")
    anonymous = openapi_document(ROUTES, ALL, "http://localhost/api", "workflows", anonymous_api=True)
    assert anonymous["paths"]["/runs"]["get"]["security"] == []
    assert anonymous["paths"]["/workflows/expense_claim/runs/{instanceId}/approvals/{requestId}/links"][
        "post"
    ]["security"] == [{"masterKey": []}, {"masterKeyHeader": []}]


def test_only_real_path_parameters_are_documented() -> None:
    """``{prefix}`` is filled in, not a parameter (it was documented as one on /workflows)."""
    document = openapi_document(ROUTES, ALL, "http://localhost/api", "workflows")
    for path, operations in document["paths"].items():
        for operation in operations.values():
            in_path = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert in_path == set(PARAM.findall(path)), path


def test_every_status_a_route_can_answer_is_documented() -> None:
    document = openapi_document(ROUTES, ALL, "http://localhost/api", "workflows", keys_checked=False)
    run = "/workflows/expense_claim/runs/{instanceId}"

    def codes(path: str, method: str) -> set[str]:
        return set(document["paths"][path][method]["responses"])

    assert codes(f"{run}/approvals/{{requestId}}", "get") >= {"200", "400", "404", "409", "410", "500"}
    assert codes(f"{run}/terminate", "post") >= {"202", "400", "403", "404", "410", "413", "500"}
    assert codes(f"{run}/rewind", "post") >= {"202", "400", "403", "404", "409", "410", "413", "500"}
    assert codes(f"{run}/approvals/{{requestId}}", "post") >= {"401", "403", "410", "413", "503"}
    assert codes("/workflows/expense_claim", "post") >= {"202", "400", "403", "404", "409", "413"}
    assert codes("/dashboard/{path}", "get") == {"200", "304", "308", "404", "500"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            success = [c for c in operation["responses"] if c.startswith("2")]
            assert len(success) == 1, (path, method)
            if path.endswith("/stream/sse"):  # Server-Sent Events: a text stream, not JSON
                assert set(operation["responses"][success[0]]["content"]) == {"text/event-stream"}
            elif path != "/openapi.json" and not path.startswith("/dashboard"):
                schema = operation["responses"][success[0]]["content"]["application/json"]["schema"]
                assert schema.get("$ref"), (path, method)  # every answer's shape is published


def test_bodies_and_parameters_say_what_the_api_refuses() -> None:
    document = openapi_document(ROUTES, ALL, "http://localhost/api", "workflows")
    schemas = document["components"]["schemas"]
    run = document["paths"]["/workflows/expense_claim/runs/{instanceId}"]["get"]
    params = {p["name"]: p["schema"] for p in run["parameters"]}
    assert params["instanceId"]["pattern"].endswith("$") and params["timeline"] == {"type": "boolean"}
    assert params["until"]["enum"] == ["settled", "finished"] and "token" in params
    start = document["paths"]["/workflows/expense_claim"]["post"]
    assert ":" not in next(p for p in start["parameters"] if p["name"] == "instanceId")["schema"]["pattern"]
    # An answer is validated strictly, unknown fields refused: the schema says so.
    assert schemas["ApprovalDecision"]["additionalProperties"] is False
    assert schemas["ReasonBody"]["additionalProperties"] is False
    assert schemas["LinkRequest"]["properties"]["for"]["anyOf"][0]["maxLength"] == 200


def test_every_query_parameter_has_a_shape_the_request_checks_check() -> None:
    for route in ROUTES:
        for param in route.params:
            schema = param.schema
            shapes = (
                schema.get("type") in ("integer", "boolean")
                or "enum" in schema
                or (schema == {"type": "string"})
                or (param.where == "path" or param.name == "instanceId")  # patterns: the handler checks
            )
            assert shapes, (route.function_name, param.name, schema)
