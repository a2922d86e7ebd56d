"""A one-agent workflow through the in-memory runner: retry on 429, usage in the step's events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import InMemoryRunner, ManualClock, WorkflowBuilder
from engine.agents import Agent
from tests.agents.fake_openai import FakeOpenAI, completion, error
from tests.agents.models import ANSWER, TICKET, Ticket, Triage


async def test_one_agent_workflow(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.v1)
    monkeypatch.setenv("OPENAI_MODEL", "gpt-test")
    fake.expect(error(429, "slow down", {"Retry-After": "30"}), completion(ANSWER))
    agent = Agent("triage", instructions="Classify.", input_type=Ticket, output_type=Triage)
    workflow = WorkflowBuilder("support", start=agent).build()
    clock = ManualClock()
    before = clock.now()

    result = await InMemoryRunner(clock=clock).run(workflow, TICKET.model_dump())

    assert result.status == "completed", result.error
    assert result.outputs == [Triage(**ANSWER)]
    # The model call (not the whole step) is retried, after the server's Retry-After.
    retrying = [e for e in result.events if e.kind == "call_retrying"]
    assert len(retrying) == 1 and clock.now() - before >= timedelta(seconds=30)
    failed = next(e for e in result.events if e.kind == "call_failed")
    assert failed.error is not None and "agent 'triage' (model gpt-test): HTTP 429" in failed.error
    assert not [e for e in result.events if e.kind in ("executor_failed", "executor_retrying")]
    completed = next(e for e in result.events if e.kind == "executor_completed")
    assert completed.data is not None
    assert completed.data["agent"]["total_tokens"] == 27
    assert completed.data["agent"]["model"] == "gpt-test"
