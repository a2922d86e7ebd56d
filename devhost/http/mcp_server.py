"""The MCP extension's endpoints, as the Functions host serves them: the app's ``mcpToolTrigger`` functions
as one MCP server, over streamable HTTP at ``/runtime/webhooks/mcp`` and legacy SSE at
``/runtime/webhooks/mcp/sse`` (its messages posted to ``/runtime/webhooks/mcp/message?sessionId=``).

JSON-RPC as the protocol has it: ``initialize``, ``ping``, ``tools/list``, ``tools/call``; notifications
are taken (202) and need no answer. Streamable HTTP is served stateless: each POST answers its request as
``application/json`` (no session id, so the client opens no stream of its own). A tool function that raises
gives a result with ``isError`` and the exception's text, as the extension reports a failed invocation.
Under ``--require-keys`` every endpoint wants the ``mcp_extension`` system key (or the master key), as
``x-functions-key`` or ``?code=``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from aiohttp import web
from mcp import types
from pydantic import ValidationError

from devhost.console import host_logs
from devhost.functions.mcp_tools import McpToolFunction
from devhost.http.function_keys import Keys
from devhost.worker.invocation import Invoker

MCP_PATH = "/runtime/webhooks/mcp"
SSE_PATH = MCP_PATH + "/sse"
MESSAGE_PATH = MCP_PATH + "/message"
MCP_REASON = "This function was programmatically called via the host APIs."
SERVER_INFO = types.Implementation(name="devhost", version="1.0.0")


KEEP_ALIVE_SECONDS = 15.0


async def _next(queue: asyncio.Queue[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The stream's next message; {} when none came within KEEP_ALIVE_SECONDS; None: the stream ends."""
    try:
        return await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
    except TimeoutError:
        return {}


def _error(message_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message_id, "error": {"code": code, "message": message}}


def _result(message_id: Any, result: Any) -> dict[str, Any]:
    body = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {"jsonrpc": "2.0", "id": message_id, "result": body}


class McpServer:
    """The app's MCP tools behind the extension's endpoints."""

    def __init__(
        self,
        tools: list[McpToolFunction],
        invoker: Invoker,
        client_binding: Any,
        keys: Keys | None,
    ) -> None:
        self.tools = {t.tool_name: t for t in tools}
        self.invoker = invoker
        self.client_binding = client_binding  # () -> the durable client binding's JSON
        self.keys = keys
        self._streams: dict[str, asyncio.Queue[dict[str, Any] | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def close(self, _app: Any = None) -> None:
        """End every SSE stream (the host is stopping): each stream's handler returns."""
        for queue in self._streams.values():
            queue.put_nowait(None)

    # --- the endpoints --------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Any request under ``/runtime/webhooks/mcp``: the key checked, then the endpoint it names."""
        supplied = request.query.get("code") or request.headers.get("x-functions-key")
        if self.keys is not None and not self.keys.allows_mcp(supplied):
            return web.json_response(
                {"error": "Unauthorized: the mcp_extension system key (or the master key) is required."},
                status=401,
            )
        path = request.path.rstrip("/")
        if path == MCP_PATH and request.method == "POST":
            return await self._streamable(request)
        if path == SSE_PATH and request.method == "GET":
            return await self._sse(request)
        if path == MESSAGE_PATH and request.method == "POST":
            return await self._message(request)
        if path in (MCP_PATH, SSE_PATH, MESSAGE_PATH):
            return web.json_response({"error": f"Method not allowed: {request.method} {path}."}, status=405)
        return web.json_response({"error": f"No MCP endpoint at {path}."}, status=404)

    async def _streamable(self, request: web.Request) -> web.StreamResponse:
        """One POST: its request answered as JSON, or 202 for notifications and responses."""
        try:
            message = await request.json()
        except ValueError:
            return web.json_response(
                _error(None, types.PARSE_ERROR, "Parse error: the body is not JSON"), status=400
            )
        answer = await self.answer(message, None, "streamable-http")
        if answer is None:
            return web.Response(status=202)
        return web.json_response(answer)

    async def _sse(self, request: web.Request) -> web.StreamResponse:
        """The legacy transport's stream: the message endpoint first, then each answer as a message event."""
        session_id = secrets.token_urlsafe(24)
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._streams[session_id] = queue
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        endpoint = f"{MESSAGE_PATH}?sessionId={session_id}"
        if request.query.get("code"):  # the key came in the URL: the messages need it there too
            endpoint += "&code=" + request.query["code"]
        try:
            await response.write(f"event: endpoint\ndata: {endpoint}\n\n".encode())
            while (message := await _next(queue)) is not None:
                # A comment line when nothing came for a while: writing finds a client that went away.
                line = f"event: message\ndata: {json.dumps(message)}\n\n" if message else ": keep-alive\n\n"
                await response.write(line.encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._streams.pop(session_id, None)
        return response

    async def _message(self, request: web.Request) -> web.StreamResponse:
        """A message for an SSE session: 202 at once, its answer sent on the session's stream."""
        session_id = request.query.get("sessionId", "")
        queue = self._streams.get(session_id)
        if queue is None:
            return web.json_response({"error": "Unknown or closed MCP session (sessionId)."}, status=404)
        try:
            message = await request.json()
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)

        async def answer_on_stream() -> None:
            answer = await self.answer(message, session_id, "sse")
            if answer is not None:
                await queue.put(answer)

        task = asyncio.create_task(answer_on_stream())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=202)

    # --- JSON-RPC ------------------------------------------------------------------------------------

    async def answer(self, message: Any, session_id: str | None, transport: str) -> dict[str, Any] | None:
        """The answer to one JSON-RPC message; None for a notification or a response."""
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return _error(None, types.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")
        if "method" not in message or "id" not in message:
            return None  # a notification, or the client's response to a request we never send
        message_id, method, params = message["id"], message["method"], message.get("params") or {}
        try:
            if method == "initialize":
                return _result(message_id, self._initialize(params))
            if method == "ping":
                return _result(message_id, types.EmptyResult())
            if method == "tools/list":
                return _result(
                    message_id, types.ListToolsResult(tools=[t.tool() for t in self.tools.values()])
                )
            if method == "tools/call":
                call = types.CallToolRequestParams.model_validate(params)
                return _result(message_id, await self._call(call, session_id, transport))
        except ValidationError as exc:
            return _error(
                message_id, types.INVALID_PARAMS, f"Invalid params for {method}: {exc.errors()[0]['msg']}"
            )
        except LookupError as exc:
            return _error(message_id, types.INVALID_PARAMS, str(exc.args[0]))
        return _error(message_id, types.METHOD_NOT_FOUND, f"Method not found: {method}")

    def _initialize(self, params: dict[str, Any]) -> types.InitializeResult:
        asked = types.InitializeRequestParams.model_validate(params).protocolVersion
        version = asked if asked in _SUPPORTED else types.LATEST_PROTOCOL_VERSION
        return types.InitializeResult(
            protocolVersion=version,
            capabilities=types.ServerCapabilities(tools=types.ToolsCapability(listChanged=False)),
            serverInfo=SERVER_INFO,
        )

    async def _call(
        self, call: types.CallToolRequestParams, session_id: str | None, transport: str
    ) -> types.CallToolResult:
        """The tool's function invoked with the call's context; its exception as an error result."""
        tool = self.tools.get(call.name)
        if tool is None:
            raise LookupError(f"Unknown tool: {call.name}")
        kwargs: dict[str, Any] = {
            tool.trigger_param: tool.payload(call.arguments or {}, session_id, transport)
        }
        for client in tool.client_params:
            kwargs[client] = self.client_binding()
        try:
            returned = await self.invoker.call(
                tool.name, tool.fn, kwargs, reason=MCP_REASON, wants_context=tool.wants_context
            )
        except Exception as exc:
            host_logs.logger.warning("Function '%s' (MCP tool %s) failed: %s", tool.name, call.name, exc)
            text = f"Error executing tool {call.name!r}: {exc}"
            return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=True)
        return tool.result(returned)


_SUPPORTED: frozenset[str] = frozenset(
    {"2024-11-05", "2025-03-26", "2025-06-18", types.LATEST_PROTOCOL_VERSION}
)

__all__ = ["MCP_PATH", "MESSAGE_PATH", "SSE_PATH", "McpServer"]
