"""An agent step's model calls stream into the step's stream: the openai client's ``stream=True`` against a
real local server, the offline model word by word; a retried call starts a new attempt."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest

from engine import InMemoryRunner, ManualClock, WorkflowBuilder
from engine.agents import Agent
from engine.core.streams import MemoryStreamStore, use_stream_store
from tests.agents.fake_openai import FakeOpenAI, completion
from tests.agents.models import ANSWER, TICKET, Ticket, Triage


@pytest.fixture
def streams() -> Iterator[MemoryStreamStore]:
    store = MemoryStreamStore()
    previous = use_stream_store(store)
    yield store
    from engine.core.streams import choose_stream_store

    choose_stream_store(previous)


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeOpenAI]:
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    async with FakeOpenAI.serving() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.v1)
        monkeypatch.setenv("OPENAI_MODEL", "gpt-test")
        yield server


def _workflow(timeout: timedelta = timedelta(seconds=60)) -> object:
    agent = Agent("triage", instructions="Classify.", input_type=Ticket, output_type=Triage, timeout=timeout)
    return WorkflowBuilder("support", start=agent).build()


async def test_the_model_call_streams_its_text_into_the_steps_stream(
    fake: FakeOpenAI, streams: MemoryStreamStore
) -> None:
    fake.expect(completion(ANSWER))
    result = await InMemoryRunner(clock=ManualClock()).run(_workflow(), TICKET.model_dump())
    assert result.status == "completed", result.error
    assert result.outputs == [Triage(**ANSWER)]
    assert fake.chat_requests[0].body["stream"] is True
    assert fake.chat_requests[0].body["stream_options"] == {"include_usage": True}
    completed = next(e for e in result.events if e.kind == "executor_completed")
    assert completed.data is not None and completed.data["agent"]["total_tokens"] == 27  # usage, streamed
    assert await streams.latest(result.instance_id, "triage") == 1
    read = await streams.read(result.instance_id, "triage", 1, 0)
    assert read.done
    assert "".join(c.text for c in read.chunks) == json.dumps(ANSWER)
    assert len(read.chunks) == len(json.dumps(ANSWER).split())  # a chunk a word, as the server sent them
    assert [c.offset for c in read.chunks] == list(range(1, len(read.chunks) + 1))


async def test_a_retried_call_writes_a_new_attempt(fake: FakeOpenAI, streams: MemoryStreamStore) -> None:
    fake.chunk_delay = 0.2  # the first attempt runs out of its 0.5 s mid-stream
    fake.expect(completion(ANSWER))
    slow_then_fast = completion(ANSWER)

    def fast(seen: object) -> object:
        fake.chunk_delay = 0.0
        return slow_then_fast

    fake.expect(fast)
    result = await InMemoryRunner(clock=ManualClock()).run(
        _workflow(timeout=timedelta(seconds=0.5)), TICKET.model_dump()
    )
    assert result.status == "completed", result.error
    assert [e.kind for e in result.events if e.kind == "call_retrying"] == ["call_retrying"]
    assert await streams.latest(result.instance_id, "triage") == 2
    first = await streams.read(result.instance_id, "triage", 1, 0)
    second = await streams.read(result.instance_id, "triage", 2, 0)
    assert first.done and 0 < len(first.chunks) < len(second.chunks)
    assert json.dumps(ANSWER).startswith("".join(c.text for c in first.chunks))
    assert (second.done, "".join(c.text for c in second.chunks)) == (True, json.dumps(ANSWER))


async def test_the_offline_model_streams_word_by_word(
    monkeypatch: pytest.MonkeyPatch, streams: MemoryStreamStore
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    result = await InMemoryRunner(clock=ManualClock()).run(_workflow(), TICKET.model_dump())
    assert result.status == "completed", result.error
    read = await streams.read(result.instance_id, "triage", 1, 0)
    text = "".join(c.text for c in read.chunks)
    assert read.done and Triage.model_validate_json(text) == result.outputs[0]
    assert len(read.chunks) == len(text.split()) > 3
