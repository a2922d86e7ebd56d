"""The agent executor against a real HTTP server speaking the OpenAI protocol, through the real SDK."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import timedelta
from typing import Annotated, Any

import pytest
from pydantic import Field

from engine import ManualClock
from engine.agents import (
    Agent,
    AgentConfigurationError,
    AgentOutputError,
    AgentRequestError,
    AgentToolLoopError,
    AgentTransientError,
    OpenAIProvider,
    strict_json_schema,
)
from engine.core.executor import StepContext
from engine.core.loop_calls import call_idempotency_key
from engine.core.retry import NonRetryableError, RetryPolicy, TransientError
from tests.agents.conftest import Attempts, drive, run_agent, step_context
from tests.agents.fake_openai import FakeOpenAI, Reply, Seen, completion, error
from tests.agents.models import ANSWER, TICKET, Ticket, Triage


@pytest.fixture
def openai_env(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.v1)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-test")
    return fake


def triage_agent(**options: Any) -> Agent:
    return Agent(
        "triage",
        instructions="Classify the support ticket.",
        input_type=Ticket,
        output_type=Triage,
        **options,
    )


async def test_structured_output(openai_env: FakeOpenAI) -> None:
    fake = openai_env
    fake.expect(completion(ANSWER))
    agent = triage_agent()
    ctx = step_context(agent)

    result = await agent.handle(TICKET, ctx)

    assert result == Triage(**ANSWER)
    assert fake.problems == []
    (seen,) = fake.chat_requests
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-test"
    assert seen.body["model"] == "gpt-test"
    assert seen.body["temperature"] == 0.2
    assert "tools" not in seen.body
    system, user = seen.messages
    assert system == {"role": "system", "content": "Classify the support ticket."}
    assert user["role"] == "user"
    assert user["content"].startswith("## Input (Ticket)\n\n```json\n")
    assert json.loads(user["content"].split("```json\n")[1].split("\n```")[0]) == TICKET.model_dump()
    response_format = seen.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Triage"
    assert response_format["json_schema"]["strict"] is True
    assert seen.schema == strict_json_schema(Triage)
    assert ctx.annotations["agent"] == {
        "model": "gpt-test",
        "provider": "openai",
        "calls": 1,
        "prompt_tokens": 20,
        "completion_tokens": 7,
        "total_tokens": 27,
        "latency_ms": ctx.annotations["agent"]["call_latency_ms"][0],
        "call_latency_ms": ctx.annotations["agent"]["call_latency_ms"],
        "tool_calls": 0,
    }


ORDERS = {"A1": {"status": "in transit", "days_late": 3}}


def lookup_order(order_id: Annotated[str, Field(description="the order number")]) -> dict[str, Any]:
    """Look an order up by its number.

    Returns its shipping status.
    """
    return ORDERS[order_id]


async def customer_tier(customer_id: int, ctx: StepContext, region: str = "eu") -> str:
    """The customer's support tier."""
    return f"gold/{region}/{ctx.idempotency_key}/{customer_id}"


async def test_tool_call_then_answer(openai_env: FakeOpenAI) -> None:
    fake = openai_env
    tool_answers: list[list[dict[str, Any]]] = []

    def answer_after_tools(seen: Seen) -> Reply:
        tool_answers.append([m for m in seen.messages if m["role"] == "tool"])
        return completion(ANSWER, usage=(40, 9))

    fake.expect(
        completion(tool_calls=[("lookup_order", {"order_id": "A1"}), ("customer_tier", {"customer_id": 5})]),
        answer_after_tools,
    )
    agent = triage_agent(tools=[lookup_order, customer_tier])
    ctx = step_context(agent)

    result = await agent.handle(TICKET, ctx)

    assert result == Triage(**ANSWER)
    assert fake.problems == []
    first, second = fake.chat_requests
    tools = {t["function"]["name"]: t["function"] for t in first.body["tools"]}
    assert tools["lookup_order"]["description"] == "Look an order up by its number."
    assert tools["lookup_order"]["strict"] is True
    assert tools["lookup_order"]["parameters"]["properties"]["order_id"]["description"] == "the order number"
    assert tools["customer_tier"]["parameters"]["required"] == ["customer_id", "region"]
    assert "ctx" not in tools["customer_tier"]["parameters"]["properties"]
    # The second request replays the assistant's calls and answers each, in order.
    assert [m["role"] for m in second.messages] == ["system", "user", "assistant", "tool", "tool"]
    (answers,) = tool_answers
    assert json.loads(answers[0]["content"]) == ORDERS["A1"]
    # Default applied, context injected: the call's own idempotency key, derived from the step's.
    assert answers[1]["content"] == f"gold/eu/{call_idempotency_key('k', 't1.1')}/5"
    assert second.messages[2]["tool_calls"][0]["id"] == answers[0]["tool_call_id"]
    usage = ctx.annotations["agent"]
    assert (usage["calls"], usage["tool_calls"]) == (2, 2)
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (60, 16, 76)
    assert len(usage["call_latency_ms"]) == 2


async def test_invalid_tool_arguments_are_answered_to_the_model(openai_env: FakeOpenAI) -> None:
    fake = openai_env
    fake.expect(
        completion(tool_calls=[("lookup_order", {"order": "A1"}), ("no_such_tool", "{}")]),
        completion(ANSWER),
    )
    agent = triage_agent(tools=[lookup_order])
    result = await agent.handle(TICKET, step_context(agent))

    assert result.category == "shipping"
    tool_messages = [m for m in fake.chat_requests[1].messages if m["role"] == "tool"]
    assert tool_messages[0]["content"].startswith(
        "error: invalid arguments for tool 'lookup_order': order_id: Field required"
    )
    assert tool_messages[1]["content"].startswith("error: there is no tool named 'no_such_tool'")


async def test_tool_rounds_are_bounded(openai_env: FakeOpenAI) -> None:
    fake = openai_env
    fake.expect(*[completion(tool_calls=[("lookup_order", {"order_id": "A1"})]) for _ in range(3)])
    agent = triage_agent(tools=[lookup_order], max_tool_rounds=2)
    attempts = Attempts()

    with pytest.raises(AgentToolLoopError, match=r"agent 'triage' \(model gpt-test\): .*max_tool_rounds=2"):
        await drive(agent, TICKET, attempts)

    assert len(fake.chat_requests) == 3
    assert attempts.count == 1


async def test_rate_limit_is_retried_after_the_servers_wait(openai_env: FakeOpenAI) -> None:
    fake = openai_env
    fake.expect(error(429, "slow down", {"Retry-After": "2"}), completion(ANSWER))
    clock = ManualClock()
    before = clock.now()

    result = await run_agent(triage_agent(), TICKET, clock)

    assert result.status == "completed", result.error
    assert result.outputs == [Triage(**ANSWER)]
    assert clock.now() - before >= timedelta(seconds=2)  # the server's wait, over the 1 s backoff
    kinds = [e.kind for e in result.events if e.kind.startswith("call_")]
    assert kinds == ["call_failed", "call_retrying", "call_completed"]
    failed = next(e for e in result.events if e.kind == "call_failed")
    assert failed.error is not None and failed.error.startswith("AgentTransientError: agent 'triage'")
    assert "HTTP 429" in failed.error and "slow down" in failed.error
    retrying = next(e for e in result.events if e.kind == "call_retrying")
    assert retrying.data == {"delay_ms": 2000.0}
    completed = next(e for e in result.events if e.kind == "executor_completed")
    assert completed.data is not None and completed.data["agent"]["calls"] == 1


async def test_retry_after_ms_wins_over_retry_after(openai_env: FakeOpenAI) -> None:
    headers = {"retry-after-ms": "1500", "Retry-After": "9"}
    openai_env.expect(error(429, "slow down", headers), completion(ANSWER))

    result = await run_agent(triage_agent(), TICKET)

    retrying = next(e for e in result.events if e.kind == "call_retrying")
    assert retrying.data == {"delay_ms": 1500.0}


async def test_server_errors_exhaust_the_retry_policy(openai_env: FakeOpenAI) -> None:
    fake = openai_env
    fake.expect(*[error(500, "boom") for _ in range(3)])
    agent = triage_agent()

    assert agent.retry is not None and agent.retry.max_attempts == 3
    result = await run_agent(agent, TICKET)

    assert result.status == "failed" and result.error is not None
    assert result.error.type == "AgentTransientError"
    assert result.error.message.startswith("agent 'triage' (model gpt-test): HTTP 500")
    assert len(fake.chat_requests) == 3  # the SDK's own retries are off: one request per attempt
    assert [e.attempt for e in result.events if e.kind == "call_failed"] == [1, 2, 3]
    with pytest.raises(AgentTransientError, match=r"^agent 'triage' \(model gpt-test\): HTTP 500"):
        fake.expect(*[error(500, "boom") for _ in range(3)])
        await agent.handle(TICKET, step_context(agent))  # called directly: the call's own exception


async def test_answer_not_matching_the_output_model_fails_at_once(openai_env: FakeOpenAI) -> None:
    fake = openai_env
    fake.expect(completion({**ANSWER, "category": "refund"}))
    attempts = Attempts()

    with pytest.raises(AgentOutputError) as raised:
        await drive(triage_agent(), TICKET, attempts)

    assert isinstance(raised.value, NonRetryableError)
    message = str(raised.value)
    assert message.startswith("agent 'triage' (model gpt-test): the answer does not match Triage: category")
    assert '"refund"' in message
    assert raised.value.output is not None
    assert attempts.count == 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (completion("not json at all"), "does not match Triage"),
        (completion(None, refusal="I cannot help with that"), "refused to answer: I cannot help"),
        (completion('{"category": "bill', finish_reason="length"), "cut off at the token limit"),
    ],
)
async def test_unusable_answers(openai_env: FakeOpenAI, reply: Reply, expected: str) -> None:
    openai_env.expect(reply)
    with pytest.raises(AgentOutputError, match=expected):
        await drive(triage_agent(), TICKET)


async def test_unauthorized_fails_at_once(openai_env: FakeOpenAI) -> None:
    fake = openai_env
    fake.expect(error(401, "Incorrect API key provided"))
    attempts = Attempts()

    with pytest.raises(AgentRequestError) as raised:
        await drive(triage_agent(), TICKET, attempts)

    assert raised.value.status_code == 401
    assert str(raised.value) == (
        "agent 'triage' (model gpt-test): HTTP 401 from the model service: Incorrect API key provided "
        "(check the API key)"
    )
    assert attempts.count == 1
    assert isinstance(raised.value, NonRetryableError)


async def test_keyless_compatible_server(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.v1)
    monkeypatch.setenv("OPENAI_API_KEY", "")  # an empty placeholder counts as unset
    fake.expect(completion(ANSWER))

    agent = triage_agent(model="llama-local", temperature=None)
    result = await agent.handle(TICKET, step_context(agent))

    assert result.urgent is True
    (seen,) = fake.chat_requests
    assert seen.body["model"] == "llama-local"
    assert "temperature" not in seen.body


async def test_base_url_without_model_is_a_configuration_error(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.v1)
    attempts = Attempts()

    expected = r"agent 'triage' \(model unset\): no model .*OPENAI_MODEL"
    with pytest.raises(AgentConfigurationError, match=expected):
        await drive(triage_agent(), TICKET, attempts)

    assert attempts.count == 1
    assert fake.seen == []


async def test_explicit_provider_and_custom_rendering(fake: FakeOpenAI) -> None:
    fake.expect(completion(ANSWER), completion(ANSWER))

    class TerseTriage(Agent):
        def render_input(self, message: Ticket) -> str:
            return f"ticket {message.id}: {message.text}"

    provider = OpenAIProvider(base_url=fake.v1, model="gpt-explicit")
    by_callable = triage_agent(provider=provider, render=lambda t: f"#{t.id}")
    by_override = TerseTriage(
        "terse", instructions="Classify.", input_type=Ticket, output_type=Triage, provider=provider
    )

    await by_callable.handle(TICKET, step_context(by_callable))
    await by_override.handle(TICKET.model_dump(), step_context(by_override))  # plain data is validated first

    first, second = fake.chat_requests
    assert first.messages[1]["content"] == "#7"
    assert second.messages[1]["content"] == "ticket 7: My order A1 has not arrived"
    assert first.body["model"] == second.body["model"] == "gpt-explicit"


async def test_per_call_timeout_is_transient(openai_env: FakeOpenAI) -> None:
    release = asyncio.Event()

    async def stall(seen: Seen) -> Reply:
        await release.wait()
        return completion(ANSWER)

    openai_env.expect(stall)
    agent = triage_agent(timeout=timedelta(milliseconds=200), retry=RetryPolicy(max_attempts=1))
    try:
        with pytest.raises(AgentTransientError, match=r"per-call timeout of 0\.2s"):
            await drive(agent, TICKET)
    finally:
        release.set()


async def test_unreachable_server_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-test")
    agent = triage_agent(retry=RetryPolicy(max_attempts=2, first_interval=timedelta(0)))
    attempts = Attempts()

    with pytest.raises(AgentTransientError, match="cannot reach the model service"):
        await drive(agent, TICKET, attempts)

    assert attempts.count == 2


async def test_a_failed_tool_call_is_retried_alone(openai_env: FakeOpenAI) -> None:
    fake = openai_env
    outcomes: list[Exception | None] = [TransientError("warehouse busy"), None]

    async def check_stock(sku: str) -> int:
        """Units in stock."""
        failure = outcomes.pop(0)
        if failure is not None:
            raise failure
        return 3

    call = completion(tool_calls=[("check_stock", {"sku": "X"}), ("lookup_order", {"order_id": "A1"})])
    fake.expect(call, completion(ANSWER))

    result = await run_agent(triage_agent(tools=[check_stock, lookup_order]), TICKET)

    assert result.status == "completed", result.error
    assert result.outputs == [Triage(**ANSWER)]
    # The model was called twice, not again for the tool's retry; the tool that failed ran again alone.
    assert len(fake.chat_requests) == 2
    calls = [
        (e.kind, e.data.get("model", e.data["name"]), e.attempt)
        for e in result.events
        if e.kind in ("call_completed", "call_failed")
    ]
    assert calls == [
        ("call_completed", "gpt-test", 1),
        ("call_failed", "check_stock", 1),
        ("call_completed", "lookup_order", 1),
        ("call_completed", "check_stock", 2),
        ("call_completed", "gpt-test", 1),
    ]
