"""Every workflow as an MCP tool: the project's own app on devhost, driven by the mcp SDK's client over the
MCP extension's endpoints. Starting, reading, listing and answering go through the HTTP API's routes, so an
MCP caller gets what an anonymous HTTP caller with the key would, and bad arguments name the field."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamablehttp_client
from mcp.types import CallToolResult

from devhost.testing import DevHostHandle
from tests.durable.conftest import host_with, token_for

Session = Callable[[str, dict[str, Any]], Any]


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    yield from host_with(tmp_path_factory, "tests.durable.graphs")


def with_session(host: DevHostHandle, steps: Callable[[ClientSession], Any], *, sse: bool = False) -> Any:
    """``steps`` run in one initialized session of the mcp SDK's client (streamable HTTP, or SSE)."""
    url = host.base_url + "/runtime/webhooks/mcp"

    async def run() -> Any:
        transport = sse_client(url + "/sse") if sse else streamablehttp_client(url)
        async with transport as streams, ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            return await steps(session)

    return asyncio.run(asyncio.wait_for(run(), 120))


def ok(result: CallToolResult) -> Any:
    assert not result.isError, result.content[0].text
    return json.loads(result.content[0].text)


def error_text(result: CallToolResult) -> str:
    assert result.isError, result.content
    return result.content[0].text


async def settled(session: ClientSession, workflow: str, instance_id: str) -> Any:
    """The run view once the run has finished or waits for a person (get_run with wait)."""
    for _ in range(20):
        view = ok(
            await session.call_tool("get_run", {"workflow": workflow, "instanceId": instance_id, "wait": 5})
        )
        if view["phase"] != "running":
            return view
    raise AssertionError(f"run {instance_id} did not settle: {view}")


def test_tools_list_every_workflow_and_the_run_tools(host: DevHostHandle) -> None:
    async def steps(session: ClientSession) -> Any:
        return (await session.list_tools()).tools

    tools = {t.name: t for t in with_session(host, steps)}
    assert {
        "start_t_chain",
        "start_t_approval",
        "get_run",
        "list_pending_approvals",
        "answer_approval",
    } <= set(tools)
    start = tools["start_t_approval"].inputSchema
    assert start["properties"]["item"]["type"] == "string"
    assert start["properties"]["amount"]["type"] == "number"
    assert sorted(start["required"]) == ["amount", "item"]
    assert tools["answer_approval"].inputSchema["required"] == [
        "workflow",
        "instanceId",
        "requestId",
        "response",
    ]


def test_start_a_workflow_and_read_it_until_done(host: DevHostHandle) -> None:
    async def steps(session: ClientSession) -> Any:
        started = ok(await session.call_tool("start_t_chain", {"value": 4}))
        return started, await settled(session, "t_chain", started["id"])

    started, view = with_session(host, steps)
    assert started["runUri"].endswith(f"/api/workflows/t_chain/runs/{started['id']}")
    assert view["phase"] == "completed"
    assert view["outputs"] == ["result=10"]


def test_an_approval_is_listed_and_answered_through_the_tools(host: DevHostHandle) -> None:
    async def steps(session: ClientSession) -> Any:
        started = ok(await session.call_tool("start_t_approval", {"item": "laptop", "amount": 1200}))
        run = {"workflow": "t_approval", "instanceId": started["id"]}
        assert (await settled(session, "t_approval", started["id"]))["phase"] == "waiting_for_approval"
        listed = ok(await session.call_tool("list_pending_approvals", run))
        [pending] = listed["pendingApprovals"]
        answer = {**run, "requestId": pending["request_id"], "response": {"approved": True, "comment": "ok"}}
        answered = ok(await session.call_tool("answer_approval", answer))
        again = await session.call_tool("answer_approval", answer)
        return (
            listed,
            pending,
            answered,
            error_text(again),
            await settled(session, "t_approval", started["id"]),
        )

    listed, pending, answered, again, view = with_session(host, steps)
    assert listed["pendingApprovalsTotal"] == 1
    assert pending["request"] == {"item": "laptop", "amount": 1200.0} and pending["can_answer"] is True
    assert answered["requestId"] == pending["request_id"]
    assert "409" in again or "410" in again  # answered once; the second is refused as over HTTP
    assert view["phase"] == "completed"
    [output] = view["outputs"]
    assert output["approved"] is True and output["decided_by"] is None  # an MCP caller has no identity


def test_named_approvers_refuse_an_mcp_caller_unless_a_link_names_one(host: DevHostHandle) -> None:
    async def steps(session: ClientSession) -> Any:
        started = ok(await session.call_tool("start_t_restricted", {"item": "car", "amount": 9}))
        run = {"workflow": "t_restricted", "instanceId": started["id"]}
        await settled(session, "t_restricted", started["id"])
        [pending] = ok(await session.call_tool("list_pending_approvals", run))["pendingApprovals"]
        answer = {**run, "requestId": pending["request_id"], "response": {"approved": True}}
        refused = error_text(await session.call_tool("answer_approval", answer))
        token = token_for(started["runUri"], pending["request_id"], "alice")
        [as_alice] = ok(await session.call_tool("list_pending_approvals", {**run, "token": token}))[
            "pendingApprovals"
        ]
        linked = ok(await session.call_tool("answer_approval", {**answer, "token": token}))
        return pending, refused, linked, await settled(session, "t_restricted", started["id"]), as_alice

    pending, refused, linked, view, as_alice = with_session(host, steps)
    assert as_alice["can_answer"] is True  # the link's holder may answer that request
    assert pending["can_answer"] is False and pending["approvers"] == ["alice", "finance"]
    assert refused.startswith("Error executing tool 'answer_approval'") and "401" in refused
    assert "alice" in refused  # the approvers named, as the HTTP API names them
    assert linked["requestId"] == pending["request_id"]
    assert view["outputs"][0]["decided_by"] == "alice"


def test_bad_arguments_are_tool_errors_naming_the_field(host: DevHostHandle) -> None:
    async def steps(session: ClientSession) -> Any:
        calls = [
            ("start_t_approval", {"item": "x"}),
            ("start_t_chain", {"value": -1}),
            ("get_run", {"workflow": "t_chain"}),
            ("get_run", {"workflow": "t_chain", "instanceId": "x", "wait": 600}),
            (
                "answer_approval",
                {"workflow": "t_approval", "instanceId": "x", "requestId": "r", "response": 3},
            ),
            ("list_pending_approvals", {"workflow": "nope", "instanceId": "x", "extra": 1}),
        ]
        return [error_text(await session.call_tool(name, args)) for name, args in calls]

    missing_amount, negative, no_instance, long_wait, bad_response, extra = with_session(host, steps)
    assert '"field": "amount"' in missing_amount and "400" in missing_amount
    assert '"field": "value"' in negative
    assert "instanceId: Field required" in no_instance
    assert "wait: Input should be less than or equal to 60" in long_wait
    assert "response: Input should be a valid dictionary" in bad_response
    assert "extra: Extra inputs are not permitted" in extra


def test_the_sse_transport_serves_the_same_tools(host: DevHostHandle) -> None:
    async def steps(session: ClientSession) -> Any:
        started = ok(await session.call_tool("start_t_chain", {"value": 1}))
        return await settled(session, "t_chain", started["id"])

    assert with_session(host, steps, sse=True)["outputs"] == ["result=4"]
