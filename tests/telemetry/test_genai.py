"""Model calls as the gen_ai conventions describe them, against the project's OpenAI-compatible test
server through the real openai client: Azure OpenAI's provider name, and a failed call's error type."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import InMemoryRunner, WorkflowBuilder
from engine.agents import Agent
from engine.core.retry import RetryPolicy
from tests.agents.fake_openai import FakeOpenAI, completion, error
from tests.telemetry.conftest import Exporting
from tests.telemetry.workflows import Note, Order

note = Agent(
    "note",
    instructions="Write a one-line note about the order.",
    input_type=Order,
    output_type=Note,
    temperature=0.3,
    retry=RetryPolicy(max_attempts=2, first_interval=timedelta(0)),
)
notes = WorkflowBuilder("tm_notes", start=note).build()
ORDER = {"order_id": "A-1", "amount": 100.0}


async def test_an_azure_openai_call_names_its_provider(
    exporting: Exporting, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_MODEL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake_openai.url)
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "notes-4o")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    fake_openai.expect(completion({"text": "ok"}, usage=(12, 3)))
    result = await InMemoryRunner().run(notes, ORDER)
    assert result.status == "completed", result.error
    [chat] = [s for s in exporting.flush().spans if s.name.startswith("chat ")]
    assert chat.name == "chat notes-4o"
    assert chat.attributes["gen_ai.provider.name"] == "azure.ai.openai"
    assert chat.attributes["gen_ai.system"] == "az.ai.openai"
    assert chat.attributes["gen_ai.request.temperature"] == 0.3
    assert exporting.receiver.total("gen_ai.client.token.usage", **{"gen_ai.token.type": "output"}) == 3


async def test_a_failed_call_says_why_and_the_retry_is_the_calls_second_attempt(
    exporting: Exporting, fake_openai: FakeOpenAI
) -> None:
    fake_openai.expect(error(429, "slow down"), completion({"text": "ok"}))
    result = await InMemoryRunner().run(notes, ORDER)
    assert result.status == "completed", result.error
    spans = exporting.flush().spans
    calls = sorted((s for s in spans if s.name == "chat gpt-test"), key=lambda s: s.start_ns)
    assert [c.status for c in calls] == [2, 0]
    assert calls[0].attributes["error.type"] == "RateLimitError"
    # The model call is retried, not the step: both calls hang under its one attempt, which succeeded.
    [step] = [s for s in spans if s.name.startswith("step note")]
    assert [calls[0].parent_id, calls[1].parent_id] == [step.span_id, step.span_id]
    assert step.attributes["workflow.step.outcome"] == "succeeded"
    received = exporting.receiver
    duration = "gen_ai.client.operation.duration"
    assert received.total(duration, count=True) == 2
    assert received.total(duration, count=True, **{"error.type": "RateLimitError"}) == 1


def lookup(order_id: str) -> dict[str, str]:
    """Look an order up."""
    return {"order_id": order_id, "status": "placed"}


looker = Agent(
    "looker", instructions="Look the order up.", input_type=Order, output_type=Note, tools=[lookup]
)
lookups = WorkflowBuilder("tm_lookups", start=looker).build()


async def test_a_tool_call_is_an_execute_tool_span_inside_the_step(
    exporting: Exporting, fake_openai: FakeOpenAI
) -> None:
    fake_openai.expect(completion(tool_calls=[("lookup", {"order_id": "A-1"})]), completion({"text": "ok"}))
    result = await InMemoryRunner().run(lookups, ORDER)
    assert result.status == "completed", result.error
    spans = exporting.flush().spans
    [step] = [s for s in spans if s.name.startswith("step looker")]
    [tool] = [s for s in spans if s.name == "execute_tool lookup"]
    chats = [s for s in spans if s.name == "chat gpt-test"]
    assert len(chats) == 2 and {c.parent_id for c in chats} == {step.span_id}
    assert tool.parent_id == step.span_id
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "lookup"
    assert tool.attributes["gen_ai.tool.type"] == "function"
    assert tool.attributes["gen_ai.agent.name"] == "looker"
    assert len(tool.attributes["gen_ai.tool.call.id"]) == 32  # the call's idempotency key
