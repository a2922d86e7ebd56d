"""devhost serves the MCP extension's endpoints for a plain app's ``mcpToolTrigger`` functions, unmodified:
streamable HTTP at /runtime/webhooks/mcp and SSE at /runtime/webhooks/mcp/sse, driven by the mcp SDK's own
clients; under --require-keys the mcp_extension system key is wanted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamablehttp_client

from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS, call

APP = APPS / "mcp_tools"


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(APP) as running:
        yield running


@pytest.fixture(scope="module")
def keyed() -> Iterator[DevHostHandle]:
    with run_devhost(APP, require_keys=True) as running:
        yield running


def _transport(kind: str, url: str, headers: dict[str, str] | None) -> AbstractAsyncContextManager[Any]:
    if kind == "sse":
        return sse_client(url + "/runtime/webhooks/mcp/sse", headers=headers)
    return streamablehttp_client(url + "/runtime/webhooks/mcp", headers=headers)


def session_calls(kind: str, url: str, calls: list[tuple[str, dict[str, Any]]], headers=None) -> Any:
    """The tool list and each call's result, through one session of the mcp SDK's client."""

    async def run() -> Any:
        async with (
            _transport(kind, url, headers) as streams,
            ClientSession(streams[0], streams[1]) as session,
        ):
            await session.initialize()
            tools = await session.list_tools()
            results = [await session.call_tool(name, args) for name, args in calls]
            return tools.tools, results

    return asyncio.run(asyncio.wait_for(run(), 60))


@pytest.mark.parametrize("kind", ["streamable", "sse"])
def test_lists_and_calls_a_plain_apps_tools(host: DevHostHandle, kind: str) -> None:
    tools, results = session_calls(
        kind,
        host.base_url,
        [("hello_mcp", {}), ("save_note", {"name": "n1", "text": "hi"}), ("add", {"a": 2, "b": 40})],
    )
    by_name = {t.name: t for t in tools}
    assert set(by_name) == {"hello_mcp", "save_note", "add", "measure"}
    assert by_name["save_note"].description == "Save a note."
    assert by_name["save_note"].inputSchema["required"] == ["name", "text"]
    assert by_name["add"].inputSchema["properties"]["a"] == {"type": "integer"}
    texts = [r.content[0].text for r in results]
    assert texts == ["Hello I am MCPTool!", "saved n1", "42"]
    assert not any(r.isError for r in results)


def test_a_structured_result_comes_back_whole(host: DevHostHandle) -> None:
    _, [result] = session_calls("streamable", host.base_url, [("measure", {"n": 21})])
    assert result.content[0].text == "n=21"
    assert result.structuredContent == {"n": 21, "double": 42}


def test_a_tool_that_raises_is_an_error_result_naming_why(host: DevHostHandle) -> None:
    _, [result] = session_calls("streamable", host.base_url, [("save_note", {"name": "", "text": "x"})])
    assert result.isError
    assert "name: a note needs a name" in result.content[0].text


def test_an_unknown_tool_is_a_protocol_error(host: DevHostHandle) -> None:
    reply = call(
        "POST",
        host.base_url + "/runtime/webhooks/mcp",
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "nope", "arguments": {}}},
    )
    assert reply.status == 200
    assert reply.json["error"]["message"] == "Unknown tool: nope"


def test_keys_are_required_and_refused(keyed: DevHostHandle) -> None:
    keys = keyed.host.keys
    assert keys is not None
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    url = keyed.base_url + "/runtime/webhooks/mcp"
    assert call("POST", url, listing).status == 401
    assert call("POST", url, listing, headers={"x-functions-key": keys.function}).status == 401
    assert call("POST", url, listing, headers={"x-functions-key": keys.durable}).status == 401
    assert call("GET", keyed.base_url + "/runtime/webhooks/mcp/sse").status == 401
    assert call("POST", f"{url}?code={keys.mcp}", listing).status == 200
    _, [result] = session_calls(
        "streamable", keyed.base_url, [("add", {"a": 1, "b": 1})], headers={"x-functions-key": keys.mcp}
    )
    assert result.content[0].text == "2"
    _, [result] = session_calls(
        "sse", keyed.base_url, [("hello_mcp", {})], headers={"x-functions-key": keys.mcp}
    )
    assert result.content[0].text == "Hello I am MCPTool!"


def test_the_banner_names_the_tools_and_the_endpoint(host: DevHostHandle) -> None:
    banner = host.host.banner()
    assert "save_note: mcpToolTrigger (tool save_note)" in banner
    assert "/runtime/webhooks/mcp (streamable HTTP)" in banner


def test_resource_and_prompt_triggers_are_refused_by_name(host: DevHostHandle) -> None:
    [resource] = host.host.index.refused["readme"]
    assert resource.describe() == "mcpResourceTrigger trigger 'context'"
    [prompt] = host.host.index.refused["summarize"]
    assert prompt.describe() == "mcpPromptTrigger trigger 'context'"
    assert "readme: mcpResourceTrigger trigger 'context'" in host.host.banner()


def test_the_keys_are_printed(keyed: DevHostHandle) -> None:
    keys = keyed.host.keys
    assert keys is not None
    assert f"system (mcp_extension): {keys.mcp}" in keyed.host.banner()


def test_the_keys_file_gains_the_mcp_key(tmp_path) -> None:
    from devhost.http.function_keys import load_or_create_keys

    old = {"master": "m", "functionKeys": {"default": "f"}, "systemKeys": {"durabletask_extension": "d"}}
    (tmp_path / "keys.json").write_text(json.dumps(old))
    keys = load_or_create_keys(tmp_path)
    assert (keys.master, keys.function, keys.durable) == ("m", "f", "d") and keys.mcp
    assert load_or_create_keys(tmp_path) == keys
