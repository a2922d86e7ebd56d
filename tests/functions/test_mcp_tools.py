"""The MCP tools a WorkflowApp declares (engine.functions.mcp_tools): each workflow's input as a start tool's
properties, the run tools' argument checks naming the field, and the request a call becomes."""

from __future__ import annotations

import json

import azure.functions as func
import pytest
from pydantic import BaseModel, Field

from engine import WorkflowApp, WorkflowBuilder, executor
from engine.functions.mcp_tools import RUN_TOOLS, ToolError, call_arguments, start_tool, workflow_tools


class Order(BaseModel):
    order_id: str = Field(description="the order")
    lines: list[int]
    rush: bool = False
    address: dict[str, str] | None = None


@executor(id="take")
def take(order: Order) -> str:
    return order.order_id


@executor(id="echo")
def echo(text: str) -> str:
    return text


orders = WorkflowBuilder("orders", start=take, description="Take an order.").build()
echoes = WorkflowBuilder("echoes", start=echo).build()
TOOLS = {t.name: t for t in RUN_TOOLS}


def test_a_workflows_input_fields_are_the_start_tools_properties() -> None:
    tool = start_tool(orders)
    assert tool.name == "start_orders" and tool.description.startswith("Take an order.")
    props = {p["propertyName"]: p for p in json.loads(tool.tool_properties())}
    assert props["order_id"] == {
        "propertyName": "order_id",
        "propertyType": "string",
        "description": "the order",
        "isRequired": True,
        "isArray": False,
    }
    assert (props["lines"]["propertyType"], props["lines"]["isArray"]) == ("integer", True)
    assert (props["rush"]["propertyType"], props["rush"]["isRequired"]) == ("boolean", False)
    assert props["address"]["propertyType"] == "object"  # anyOf (object or null): the input validates it
    request = tool.request({"order_id": "A1", "lines": [1]})
    assert (request.route, request.route_params, request.body) == (
        "workflow_start",
        {"name": "orders"},
        {"order_id": "A1", "lines": [1]},
    )


def test_a_non_object_input_is_one_input_property() -> None:
    tool = start_tool(echoes)
    [prop] = json.loads(tool.tool_properties())
    assert (prop["propertyName"], prop["isRequired"]) == ("input", True)
    assert tool.request({"input": "hi"}).body == "hi"


def test_every_workflow_gets_a_start_tool_then_the_run_tools() -> None:
    names = [t.name for t in workflow_tools({"orders": orders, "echoes": echoes})]
    assert names == ["start_orders", "start_echoes", "get_run", "list_pending_approvals", "answer_approval"]


def test_the_run_tools_become_their_routes_requests() -> None:
    got = TOOLS["get_run"].request({"workflow": "w", "instanceId": "r1", "wait": 5, "token": "t"})
    assert (got.route, got.route_params, got.params, got.body) == (
        "workflow_run",
        {"name": "w", "instanceId": "r1"},
        {"wait": "5", "token": "t"},
        None,
    )
    assert TOOLS["get_run"].request({"workflow": "w", "instanceId": "r1"}).params == {}
    answer = TOOLS["answer_approval"].request(
        {"workflow": "w", "instanceId": "r1", "requestId": "ask-s1-0", "response": {"ok": 1}, "token": "t"}
    )
    assert (answer.route, answer.route_params["requestId"], answer.params, answer.body) == (
        "workflow_approve",
        "ask-s1-0",
        {"token": "t"},
        {"ok": 1},
    )
    req = answer.http_request("POST", "workflows/w/runs/r1/approvals/ask-s1-0")
    # No identity travels with a tool call: only the body's type.
    assert dict(req.headers) == {"content-type": "application/json"}
    assert json.loads(req.get_body()) == {"ok": 1}


@pytest.mark.parametrize(
    ("tool", "arguments", "named"),
    [
        ("get_run", {"workflow": "w"}, "instanceId: Field required"),
        ("get_run", {"workflow": "w", "instanceId": "r", "wait": -1}, "wait: Input should be greater than"),
        ("list_pending_approvals", {"workflow": "w", "instanceId": "r", "wait": 1}, "wait: not an argument"),
        (
            "answer_approval",
            {"workflow": "w", "instanceId": "r", "requestId": "q"},
            "response: Field required",
        ),
        (
            "answer_approval",
            {"workflow": 3, "instanceId": "r", "requestId": "q", "response": {}},
            "workflow:",
        ),
    ],
)
def test_bad_arguments_name_the_field(tool: str, arguments: dict[str, object], named: str) -> None:
    with pytest.raises(ToolError, match=f"^{tool}: invalid arguments: .*{named}"):
        TOOLS[tool].request(arguments)


def test_the_trigger_payload_is_read_as_the_extension_sends_it() -> None:
    assert call_arguments('{"name": "get_run", "arguments": {"a": 1}, "sessionid": null}') == {"a": 1}
    assert call_arguments({"name": "x"}) == {}
    with pytest.raises(ToolError, match="payload"):
        call_arguments("not json")
    with pytest.raises(ToolError, match="payload"):
        call_arguments('{"arguments": [1]}')


def _triggers(app: WorkflowApp) -> dict[str, dict[str, object]]:
    host = func.FunctionApp()
    host.register_functions(app.blueprint)
    return {f.get_function_name(): f.get_trigger().get_dict_repr() for f in host.get_functions()}


def test_the_app_registers_each_tool_with_the_mcp_decorator_and_can_leave_them_out() -> None:
    triggers = _triggers(WorkflowApp([orders]))
    tool = triggers["mcp_start_orders"]
    assert (tool["type"], tool["toolName"], tool["name"]) == ("mcpToolTrigger", "start_orders", "context")
    assert json.loads(str(tool["toolProperties"]))[0]["propertyName"] == "order_id"
    assert {n for n, t in triggers.items() if t["type"] == "mcpToolTrigger"} == {
        "mcp_start_orders",
        "mcp_get_run",
        "mcp_list_pending_approvals",
        "mcp_answer_approval",
    }
    assert not any(
        t["type"] == "mcpToolTrigger" for t in _triggers(WorkflowApp([orders], mcp_tools=False)).values()
    )
