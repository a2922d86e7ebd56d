"""MCP servers as an agent's tools, for real: the shipped orders server over stdio (a subprocess), and a
streamable-HTTP server on localhost, reached by the ``mcp`` client inside the engine; the model is the
offline one or the test's OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from mcp.server.fastmcp import Context, FastMCP
from pydantic import BaseModel

from engine import InMemoryRunner, ManualClock, RetryPolicy, WorkflowBuilder
from engine.agents import Agent, ask_before, mcp_http, mcp_stdio
from engine.core.loop_calls import call_idempotency_key
from engine.core.supersteps import idempotency_key
from examples.orders_mcp.ledger import Ledger
from tests.agents.conftest import run_agent
from tests.agents.fake_openai import FakeOpenAI, Seen, completion

ROOT = Path(__file__).resolve().parents[2]


class RefundAsk(BaseModel):
    order_id: str
    reason: str


class RefundDone(BaseModel):
    order_id: str
    refunded: bool
    amount: float
    refund_id: str | None = None
    message_to_customer: str


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """The orders server's ledger, in a file of this test (handed to the server through pass_env)."""
    path = tmp_path / "orders.sqlite"
    monkeypatch.setenv("ORDERS_MCP_LEDGER", str(path))
    return Ledger(path)


@pytest.fixture
def openai_env(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.v1)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-test")
    return fake


def orders(**options: Any) -> Any:
    return mcp_stdio(
        sys.executable, "-m", "examples.orders_mcp", cwd=ROOT, pass_env=["ORDERS_MCP_LEDGER"], **options
    )


def refunder(*tools: Any, **options: Any) -> Agent:
    return Agent(
        "refunder",
        instructions="Look the order up and refund it.",
        input_type=RefundAsk,
        output_type=RefundDone,
        tools=list(tools),
        **options,
    )


ASK = RefundAsk(order_id="ORD-101200", reason="Arrived broken")


async def test_a_stdio_server_lists_once_and_each_call_carries_its_idempotency_key(ledger: Ledger) -> None:
    agent = refunder(orders(), ask_before("refund", timeout=timedelta(hours=1)))
    workflow = WorkflowBuilder("refunds", start=agent).build()
    runner = InMemoryRunner(clock=ManualClock())

    paused = await runner.run(workflow, ASK.model_dump(), instance_id="run-1")

    assert paused.status == "waiting_for_approval", paused.error
    [asked] = paused.pending_approvals
    assert asked.request["tool"] == "refund"
    assert asked.request["arguments"] == {
        "order_id": "ORD-101200",
        "amount": 1200.0,
        "reason": "Arrived broken",
    }
    assert [c["tool"] for c in ledger.calls()] == ["lookup"]  # the refund waits for the person

    done = await runner.resume(paused.state, {asked.request_id: {"approved": True}}, workflow=workflow)

    assert done.status == "completed", done.error
    [out] = done.outputs
    assert (out.refunded, out.amount, out.refund_id) == (True, 1200.0, ledger.refunds()[0]["refund_id"])
    step_key = idempotency_key("refunds", "run-1", 1, "refunder", 0)
    calls = ledger.calls()
    assert [(c["tool"], c["key"]) for c in calls] == [
        ("lookup", call_idempotency_key(step_key, "t1.0")),
        ("refund", call_idempotency_key(step_key, "t2.0")),
    ]
    listed = [
        e for e in paused.events if e.kind == "call_completed" and e.data and e.data["kind"] == "list_tools"
    ]
    assert len(listed) == 1 and listed[0].data is not None and listed[0].data["tools"] == ["lookup", "refund"]
    assert ledger.counts().refunds == 1


async def test_a_filter_offers_the_model_only_the_named_tools(openai_env: FakeOpenAI, ledger: Ledger) -> None:
    fake = openai_env
    answer = {"order_id": "ORD-101200", "refunded": False, "amount": 0.0, "refund_id": None}
    fake.expect(
        completion(tool_calls=[("lookup", {"order_id": "ORD-101200"})]),
        completion({**answer, "message_to_customer": "We are looking into it."}),
    )

    result = await run_agent(refunder(orders(tools=["lookup"])), ASK)

    assert result.status == "completed", result.error
    assert fake.problems == []  # the server's schemas went out in strict mode, as the protocol wants
    first, second = fake.chat_requests
    assert [t["function"]["name"] for t in first.body["tools"]] == ["lookup"]
    tool_answer = json.loads(second.messages[-1]["content"])
    assert tool_answer["customer"] and tool_answer["amount"] == 1200.0


async def test_a_tool_that_errors_and_wrong_arguments_are_told_to_the_model(
    openai_env: FakeOpenAI, ledger: Ledger
) -> None:
    fake = openai_env
    told: list[list[str]] = []

    def answer(seen: Seen) -> Any:
        told.append([m["content"] for m in seen.messages if m["role"] == "tool"])
        return completion(
            {
                "order_id": "ORD-300450",
                "refunded": False,
                "amount": 0.0,
                "refund_id": None,
                "message_to_customer": "Sorry.",
            }
        )

    fake.expect(
        completion(
            tool_calls=[
                ("refund", {"order_id": "ORD-300450", "amount": 450.0, "reason": "late"}),  # shipped: refused
                ("refund", {"order_id": "ORD-300450", "amount": "all"}),  # no reason, amount not a number
            ]
        ),
        answer,
    )

    result = await run_agent(refunder(orders()), RefundAsk(order_id="ORD-300450", reason="late"))

    assert result.status == "completed", result.error
    [[server_error, argument_error]] = told
    assert server_error.startswith("error: ") and "shipped: it cannot be refunded" in server_error
    assert argument_error.startswith("error: invalid arguments for tool 'refund': ")
    assert "'reason' is a required property" in argument_error
    assert [c["tool"] for c in ledger.calls()] == ["refund"]  # the wrong arguments never reached the server


async def test_a_server_that_fails_to_start_is_retried_then_fails_the_step_saying_why() -> None:
    broken = mcp_stdio(sys.executable, "-m", "no_such_mcp_server_module", name="broken server")
    agent = refunder(broken, retry=RetryPolicy(max_attempts=2, first_interval=timedelta(0)))

    result = await run_agent(agent, ASK)

    assert result.status == "failed" and result.error is not None
    assert result.error.type == "McpServerError"
    assert result.error.message.startswith("MCP server broken server failed to start or answer: ")
    assert "No module named no_such_mcp_server_module" in result.error.message  # its stderr, quoted
    assert [e.attempt for e in result.events if e.kind == "call_failed"] == [1, 2]


async def test_a_filter_naming_a_tool_the_server_lacks_fails_at_once(ledger: Ledger) -> None:
    result = await run_agent(refunder(orders(tools=["lookup", "cancel"])), ASK)

    assert result.status == "failed" and result.error is not None
    assert result.error.type == "AgentConfigurationError"
    assert "offers no tool 'cancel' (it offers: lookup, refund)" in result.error.message


# --- streamable HTTP --------------------------------------------------------------------------------------

tellers = FastMCP("tellers", stateless_http=True, json_response=True)


@tellers.tool()
def whoami(greeting: str, ctx: Context[Any, Any, Any]) -> str:
    """Greet the caller by the name its request carries (the X-Caller header)."""
    request = ctx.request_context.request
    caller = request.headers.get("x-caller", "nobody") if request is not None else "nobody"
    return f"{greeting}, {caller}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[str]:
    """The tellers server over streamable HTTP on localhost (uvicorn, in a thread of this process)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(tellers.streamable_http_app(), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the MCP server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.should_exit = True
        thread.join(10)


class Greeting(BaseModel):
    text: str


async def test_a_streamable_http_server_with_headers(openai_env: FakeOpenAI, http_server: str) -> None:
    fake = openai_env
    told: list[str] = []

    def answer(seen: Seen) -> Any:
        told.extend(m["content"] for m in seen.messages if m["role"] == "tool")
        return completion({"text": told[-1]})

    fake.expect(completion(tool_calls=[("whoami", {"greeting": "Hello"})]), answer)
    agent = Agent(
        "greeter",
        instructions="Greet.",
        input_type=str,
        output_type=Greeting,
        tools=[mcp_http(http_server, headers={"X-Caller": "Ada"})],
    )

    result = await run_agent(agent, "hi")

    assert result.status == "completed", result.error
    assert result.outputs == [Greeting(text="Hello, Ada")]
    assert fake.problems == []


async def test_an_unreachable_http_server_is_a_transient_failure() -> None:
    port = _free_port()  # nobody listens there any more
    agent = Agent(
        "greeter",
        instructions="Greet.",
        input_type=str,
        output_type=Greeting,
        tools=[mcp_http(f"http://127.0.0.1:{port}/mcp", timeout=timedelta(seconds=5))],
        retry=RetryPolicy(max_attempts=2, first_interval=timedelta(0)),
    )

    result = await asyncio.wait_for(run_agent(agent, "hi"), 60)

    assert result.status == "failed" and result.error is not None
    assert result.error.type == "McpServerError"
    assert result.error.message.startswith(
        f"MCP server http: http://127.0.0.1:{port}/mcp could not be reached"
    )
    assert len([e for e in result.events if e.kind == "call_failed"]) == 2
