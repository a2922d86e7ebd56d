"""A real HTTP server speaking the chat.completions protocol, answering from a script.

It plays OpenAI, an OpenAI-compatible server, Azure OpenAI (deployment paths, ``api-version``) and the
App Service managed-identity endpoint that ``DefaultAzureCredential`` asks for Entra ID tokens. Every
chat request is checked against the protocol the agents must speak (a malformed one is answered 400 and
recorded in ``problems``), recorded, and answered with the next scripted reply.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

ENTRA_TOKEN = "entra-token-for-tests"


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body["messages"]

    @property
    def schema(self) -> dict[str, Any]:
        return self.body["response_format"]["json_schema"]["schema"]


_ids = itertools.count(1)


def completion(
    content: str | dict[str, Any] | None = None,
    *,
    tool_calls: list[tuple[str, dict[str, Any] | str]] | None = None,
    finish_reason: str | None = None,
    usage: tuple[int, int] | None = (20, 7),
    refusal: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """A chat.completion answer: ``content`` (a dict is sent as its JSON text) or tool calls."""
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": refusal}
    if isinstance(content, dict):
        content = json.dumps(content)
    message["content"] = content
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{next(_ids)}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
            for name, arguments in tool_calls
        ]
    body: dict[str, Any] = {
        "id": f"chatcmpl-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "scripted",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
                "logprobs": None,
            }
        ],
    }
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": usage[0] + usage[1],
        }
    return Reply(200, body, headers or {})


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """An OpenAI-style error answer."""
    return Reply(status, {"error": {"message": message, "type": "test_error", "code": None}}, headers or {})


Script = Reply | Callable[[Seen], Reply | Awaitable[Reply]]


class FakeOpenAI:
    """Start with ``await fake.start()``; ``fake.url`` is its root, ``fake.v1`` an OpenAI-style base URL."""

    def __init__(self) -> None:
        self.script: deque[Script] = deque()
        self.seen: list[Seen] = []
        self.problems: list[str] = []
        self.token_requests: list[Seen] = []
        self._server: TestServer | None = None
        self.chunk_delay = 0.0  # seconds between streamed chunks

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    @property
    def chat_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith("/chat/completions")]

    def expect(self, *replies: Script) -> None:
        self.script.extend(replies)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._chat)
        app.router.add_get("/msi/token", self._token)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @classmethod
    @asynccontextmanager
    async def serving(cls) -> AsyncIterator[FakeOpenAI]:
        """A server started for a test; afterwards the agents' cached clients (bound to the test's loop) are
        closed, then the server."""
        from engine.agents import close_clients

        server = cls()
        await server.start()
        try:
            yield server
        finally:
            await close_clients()
            await server.close()

    async def _chat(self, request: web.Request) -> web.Response:
        seen = Seen(
            request.method,
            request.path,
            dict(request.query),
            {k.lower(): v for k, v in request.headers.items()},
            await request.json(),
        )
        self.seen.append(seen)
        problems = _protocol_problems(seen.body)
        if problems:
            self.problems.extend(problems)
            return _respond(error(400, "; ".join(problems)))
        if not self.script:
            self.problems.append("unexpected request: the script is exhausted")
            return _respond(error(400, "unexpected request: the script is exhausted"))
        step = self.script.popleft()
        reply = step(seen) if callable(step) else step
        if inspect.isawaitable(reply):
            reply = await reply
        if seen.body.get("stream") and reply.status == 200 and isinstance(reply.body, dict):
            return await self._stream(request, seen, reply)
        return _respond(reply)

    async def _stream(self, request: web.Request, seen: Seen, reply: Reply) -> web.StreamResponse:
        """A scripted completion sent as the service streams it: server-sent chunks, the text a word each,
        the tool calls, the finish, then (asked for with stream_options) the usage, then [DONE]."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", **reply.headers})
        await response.prepare(request)
        for chunk in stream_chunks(
            reply.body, include_usage=bool((seen.body.get("stream_options") or {}).get("include_usage"))
        ):
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _token(self, request: web.Request) -> web.Response:
        # App Service managed identity (api-version 2019-08-01), as DefaultAzureCredential calls it.
        self.token_requests.append(
            Seen(request.method, request.path, dict(request.query), dict(request.headers), None)
        )
        if request.headers.get("X-IDENTITY-HEADER") != "identity-secret":
            return web.json_response({"error": "bad identity header"}, status=401)
        return web.json_response(
            {
                "access_token": ENTRA_TOKEN,
                "expires_on": str(int(time.time()) + 3600),
                "resource": request.query.get("resource", ""),
                "token_type": "Bearer",
            }
        )


def stream_chunks(body: dict[str, Any], *, include_usage: bool) -> list[dict[str, Any]]:
    """A chat.completion body as the chat.completion.chunk objects the service would stream for it."""
    head = {
        "id": body["id"],
        "object": "chat.completion.chunk",
        "created": body["created"],
        "model": body["model"],
    }
    chunks: list[dict[str, Any]] = []

    def delta(values: dict[str, Any], finish: str | None = None) -> None:
        chunks.append({**head, "choices": [{"index": 0, "delta": values, "finish_reason": finish}]})

    for choice in body["choices"]:
        message = choice["message"]
        delta({"role": "assistant", "content": ""})
        for word in re.findall(r"\S+\s*|\s+", message.get("content") or ""):
            delta({"content": word})
        if message.get("refusal"):
            delta({"refusal": message["refusal"]})
        for n, call in enumerate(message.get("tool_calls") or []):
            function = call["function"]
            delta(
                {
                    "tool_calls": [
                        {
                            "index": n,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": function["name"], "arguments": ""},
                        }
                    ]
                }
            )
            arguments = function["arguments"]
            for part in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
                delta({"tool_calls": [{"index": n, "function": {"arguments": part}}]})
        delta({}, choice["finish_reason"])
    if include_usage and body.get("usage") is not None:
        chunks.append({**head, "choices": [], "usage": body["usage"]})
    return chunks


def _respond(reply: Reply) -> web.Response:
    return web.json_response(reply.body, status=reply.status, headers=reply.headers)


def _protocol_problems(body: Any) -> list[str]:
    """What the real service would reject, or what an agent must always send."""
    problems: list[str] = []
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    if not isinstance(body.get("model"), str) or not body["model"]:
        problems.append("model missing")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*problems, "messages missing"]
    if messages[0].get("role") != "system":
        problems.append("the first message is not the system instructions")
    called: set[str] = set()
    for m in messages:
        if m.get("role") == "assistant":
            called |= {c["id"] for c in m.get("tool_calls") or []}
        if m.get("role") == "tool" and m.get("tool_call_id") not in called:
            problems.append(f"tool message answers unknown call {m.get('tool_call_id')!r}")
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        problems.append("response_format is not json_schema")
    else:
        spec = fmt.get("json_schema", {})
        if spec.get("strict") is not True:
            problems.append("json_schema is not strict")
        problems.extend(_strict_problems(spec.get("schema"), "schema"))
    for tool in body.get("tools", []):
        function = tool.get("function", {})
        if tool.get("type") != "function" or not function.get("name"):
            problems.append(f"malformed tool {tool!r}")
        problems.extend(_strict_problems(function.get("parameters"), f"tool {function.get('name')}"))
    return problems


def _strict_problems(schema: Any, where: str) -> list[str]:
    """Strict mode's rules: closed objects, every property required, no $ref siblings, no defaults."""
    if not isinstance(schema, dict):
        return [f"{where}: not a schema"]
    problems: list[str] = []
    if "$ref" in schema and len(schema) > 1:
        problems.append(f"{where}: $ref with siblings")
    if "default" in schema:
        problems.append(f"{where}: default is not permitted")
    if schema.get("type") == "object":
        if schema.get("additionalProperties") is not False:
            problems.append(f"{where}: additionalProperties must be false")
        if sorted(schema.get("required", [])) != sorted(schema.get("properties", {})):
            problems.append(f"{where}: every property must be required")
    for key, sub in schema.get("properties", {}).items():
        problems.extend(_strict_problems(sub, f"{where}.{key}"))
    for name, sub in schema.get("$defs", {}).items():
        problems.extend(_strict_problems(sub, f"{where}.$defs.{name}"))
    if isinstance(schema.get("items"), dict):
        problems.extend(_strict_problems(schema["items"], f"{where}[]"))
    for sub in schema.get("anyOf", []):
        problems.extend(_strict_problems(sub, where))
    return problems
