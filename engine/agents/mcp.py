"""MCP servers as an agent's tools, through the official ``mcp`` SDK: stdio and streamable HTTP.

``mcp_stdio("python", "-m", "orders_mcp")`` starts the server as a subprocess speaking MCP on its stdin and
stdout; ``mcp_http(url, headers=...)`` reaches one over streamable HTTP. ``tools=["refund"]`` offers only
the tools named (the server's others stay hidden from the model).

A step lists a server's tools once (one recorded call, so a replay never asks again: the schemas the model
saw are in the step's history) and opens a session for each tool call, which is an activity of its own in
a durable run and may run in another process than the listing. Each call carries the call's idempotency
key in the request's ``_meta`` (``idempotency_key``), so a server can de-duplicate a call a crash made it
receive twice.

How things fail, and what follows:

- a server that cannot be started or reached, or that times out: ``McpServerError``, a ``TransientError``
  (the call is tried again under its retry policy, then the step fails naming the server and the cause,
  with the last lines the server wrote to stderr);
- a server that refuses the connection for good (HTTP 401, 403, 404): ``McpServerError`` that is not
  retried;
- a tool that reports an error (``isError``), or a protocol error for one call (an unknown tool, bad
  arguments): told to the model as the tool's answer, so it may correct itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, TextIO

import httpx
from mcp import ClientSession, McpError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, EmbeddedResource, ImageContent, TextContent, Tool

from engine.core.retry import NonRetryableError, RetryPolicy, TransientError

STDERR_TAIL = 600  # characters of a failed server's stderr quoted in the error
META_KEY = "idempotency_key"  # the call's idempotency key, in the request's _meta


class McpServerError(TransientError):
    """The server could not be started, reached, or did not answer in time: worth another attempt."""


class McpServerRefused(NonRetryableError):
    """The server refused us for good (HTTP 401, 403, 404): fix the URL or the credentials."""


@dataclass(frozen=True, slots=True)
class McpServer:
    """An MCP server an agent takes tools from. Make one with ``mcp_stdio`` or ``mcp_http``."""

    transport: Literal["stdio", "http"]
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    pass_env: tuple[str, ...] = ()
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    tools: tuple[str, ...] | None = None
    name: str | None = None
    timeout: timedelta = timedelta(seconds=60)
    retry: RetryPolicy | None = None

    @property
    def label(self) -> str:
        """How errors and views name the server."""
        if self.name:
            return self.name
        if self.transport == "stdio":
            return "stdio: " + " ".join([os.path.basename(self.command or ""), *self.args])
        return f"http: {self.url}"

    def offers(self, tool_name: str) -> bool:
        """Whether the filter (if any) lets ``tool_name`` through."""
        return self.tools is None or tool_name in self.tools

    async def list_tools(self) -> list[Tool]:
        """Every tool the server lists (all pages), before the filter."""
        async with self._session() as session:
            listed: list[Tool] = []
            cursor: str | None = None
            while True:
                page = await session.list_tools(cursor)
                listed += page.tools
                cursor = page.nextCursor
                if not cursor:
                    return listed

    async def call(self, tool: str, arguments: dict[str, Any], idempotency_key: str) -> tuple[str, bool]:
        """The tool's answer as the model reads it, and whether the tool reported an error."""
        async with self._session() as session:
            try:
                result = await session.call_tool(tool, arguments, meta={META_KEY: idempotency_key})
            except McpError as err:  # the server refused this one call: the model may correct it
                return f"error: {err.error.message}", True
        return result_text(result), result.isError

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[ClientSession]:
        """An initialized session, within the server's timeout; failures mapped to ours."""
        errlog = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            async with asyncio.timeout(self.timeout.total_seconds()):
                async with self._streams(errlog) as (read, write), ClientSession(read, write) as session:
                    await session.initialize()
                    yield session
        except (McpServerError, McpServerRefused):
            raise
        except BaseException as err:  # anyio task groups wrap what happened in groups
            mapped = self._mapped(err, errlog)
            if mapped is None:
                raise
            raise mapped from err
        finally:
            errlog.close()

    @asynccontextmanager
    async def _streams(self, errlog: TextIO) -> AsyncIterator[tuple[Any, Any]]:
        if self.transport == "stdio":
            assert self.command is not None
            # The SDK gives a server a minimal environment (PATH, HOME, ...): settings it needs are named.
            env = {k: os.environ[k] for k in self.pass_env if k in os.environ}
            parameters = StdioServerParameters(
                command=self.command, args=list(self.args), env={**env, **self.env} or None, cwd=self.cwd
            )
            async with stdio_client(parameters, errlog=errlog) as (read, write):
                yield read, write
            return
        assert self.url is not None
        timeout = httpx.Timeout(self.timeout.total_seconds())
        async with (
            httpx.AsyncClient(headers=dict(self.headers), timeout=timeout) as client,
            streamable_http_client(self.url, http_client=client) as (read, write, _),
        ):
            yield read, write

    def _mapped(self, err: BaseException, errlog: TextIO) -> Exception | None:
        """Our error for what went wrong opening or using a session (None: not ours to map)."""
        cause = _innermost(err)
        if isinstance(cause, asyncio.CancelledError) and not isinstance(err, TimeoutError):
            return None
        if isinstance(cause, httpx.HTTPStatusError) and cause.response.status_code in (401, 403, 404):
            status = cause.response.status_code
            return McpServerRefused(
                f"MCP server {self.label} answered HTTP {status}: check the URL and headers"
            )
        if isinstance(err, TimeoutError) or isinstance(cause, TimeoutError):
            detail = f"no answer within {self.timeout.total_seconds():g}s"
        else:
            detail = _describe(cause)
        verb = "failed to start or answer" if self.transport == "stdio" else "could not be reached"
        return McpServerError(f"MCP server {self.label} {verb}: {detail}{_stderr_tail(errlog)}")


def mcp_stdio(
    command: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    pass_env: Sequence[str] = (),
    cwd: str | os.PathLike[str] | None = None,
    tools: Sequence[str] | None = None,
    name: str | None = None,
    timeout: timedelta = timedelta(seconds=60),
    retry: RetryPolicy | None = None,
) -> McpServer:
    """A server started as ``command *args`` and spoken to over stdio.

    ``env``: variables for the server; ``pass_env``: names of this process's variables (app settings) to
    hand it as they are. ``tools``: offer only these of its tools. ``timeout``: each session's budget.
    """
    return McpServer(
        transport="stdio",
        command=command,
        args=tuple(args),
        env=dict(env or {}),
        pass_env=tuple(pass_env),
        cwd=os.fspath(cwd) if cwd is not None else None,
        tools=tuple(tools) if tools is not None else None,
        name=name,
        timeout=timeout,
        retry=retry,
    )


def mcp_http(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    tools: Sequence[str] | None = None,
    name: str | None = None,
    timeout: timedelta = timedelta(seconds=60),
    retry: RetryPolicy | None = None,
) -> McpServer:
    """A server reached over streamable HTTP at ``url`` (``headers``: sent with every request)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"mcp_http: {url!r} is not an http(s) URL")
    return McpServer(
        transport="http",
        url=url,
        headers=dict(headers or {}),
        tools=tuple(tools) if tools is not None else None,
        name=name,
        timeout=timeout,
        retry=retry,
    )


def result_text(result: CallToolResult) -> str:
    """What the model reads back from an MCP tool: its text, else its structured content as JSON."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        elif isinstance(block, ImageContent):
            parts.append(f"[image {block.mimeType}]")
        elif isinstance(block, EmbeddedResource):
            parts.append(f"[resource {block.resource.uri}]")
        else:
            parts.append(f"[{block.type}]")
    if not parts and result.structuredContent is not None:
        parts.append(json.dumps(result.structuredContent, sort_keys=True))
    text = "\n".join(parts)
    return f"error: {text}" if result.isError and not text.startswith("error") else text


def _innermost(err: BaseException) -> BaseException:
    """The first leaf of an exception group (anyio wraps what a task group saw), else the error."""
    while isinstance(err, BaseExceptionGroup) and err.exceptions:
        err = err.exceptions[0]
    return err


def _describe(err: BaseException) -> str:
    if isinstance(err, McpError):
        return err.error.message
    if isinstance(err, FileNotFoundError):
        return f"command not found ({err.filename or err})"
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _stderr_tail(errlog: TextIO) -> str:
    try:
        errlog.seek(0)
        text = errlog.read().strip()
    except (OSError, ValueError):
        return ""
    if not text:
        return ""
    tail = text[-STDERR_TAIL:]
    return f"; its stderr ends: {tail}"


__all__ = ["McpServer", "McpServerError", "McpServerRefused", "mcp_http", "mcp_stdio", "result_text"]
