"""A durable run on devhost is one trace: the HTTP start, every orchestrator episode, every step attempt
and the agent's model call, exported over OTLP/HTTP (the standard settings) to a loopback receiver.

devhost runs as a subprocess configured by ``OTEL_EXPORTER_OTLP_ENDPOINT`` alone, as an app would be, and
is restarted while the run waits for its approval: the steps after the restart run in a process where the
start's span never existed, under an empty OpenTelemetry context, so they can join the run's trace only
through the ``traceparent`` their step requests carry. The agent calls the project's OpenAI-compatible
test server through the real openai client.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevHostProcess, free_port
from tests.agents.fake_openai import FakeOpenAI, completion
from tests.durable.http import get, post
from tests.telemetry.otlp import Receiver, Span, running_receiver

ROOT = Path(__file__).resolve().parents[2]
ORDER = {"order_id": "A-1", "amount": 100.0}


@pytest.fixture
def model_service() -> Iterator[FakeOpenAI]:
    """The fake model service on a loop of its own: devhost, another process, calls it over loopback."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-openai", daemon=True)
    thread.start()
    server = FakeOpenAI()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def _settings(receiver: Receiver, model: FakeOpenAI) -> dict[str, str]:
    return {
        "WORKFLOW_MODULES": "tests.telemetry.workflows",
        "APPROVAL_SIGNING_KEY": "telemetry-test-key-not-a-secret",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_SERVICE_NAME": "telemetry-e2e",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_METRIC_EXPORT_INTERVAL": "300",
        "OPENAI_BASE_URL": model.v1,
        "OPENAI_MODEL": "gpt-test",
        "OPENAI_API_KEY": "test-key",
    }


def _named(spans: list[Span], prefix: str) -> list[Span]:
    return [s for s in spans if s.name.startswith(prefix)]


def test_a_durable_run_is_one_trace_across_episodes_steps_and_a_restart(
    tmp_path: Path, receiver: Receiver, model_service: FakeOpenAI
) -> None:
    model_service.expect(completion({"text": "refund approved"}, usage=(31, 9)))
    settings = _settings(receiver, model_service)
    state, port = tmp_path / "state.sqlite", free_port()
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)

    first = DevHostProcess(ROOT, state, port=port, settings=settings).start()
    try:
        started = post(
            f"{first.base_url}/api/workflows/tm_traced",
            ORDER,
            headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"},
        )
        assert started.status == 202, started.body
        run_uri = started.body["runUri"]
        view = get(f"{run_uri}?wait=30").body
        assert view["phase"] == "waiting_for_approval", view
        respond = view["pendingApprovals"][0]["respond_uri"]
    finally:
        first.stop()
    receiver.wait_for(lambda r: any(s.name.startswith("step decide") for s in r.spans))

    second = DevHostProcess(ROOT, state, port=port, settings=settings).start()
    try:
        # A respond link issued to alice, so the decision names who took it.
        link = post(f"{respond}/links", {"for": "alice"})
        assert link.status == 201, link.body
        answered = post(link.body["respond_uri"], {"approved": True, "comment": "fine"})
        assert answered.status == 202, answered.body
        done = get(f"{run_uri}?wait=30&until=finished").body
        assert done["runtimeStatus"] == "Completed", done
        assert done["outputs"] == ["refund approved"]
    finally:
        second.stop()
    receiver.wait_for(lambda r: any(s.name.startswith("step finish") for s in r.spans))
    spans = [s for s in receiver.spans if s.resource.get("service.name") == "telemetry-e2e"]

    # One trace, rooted in the caller's traceparent.
    [start] = _named(spans, "start workflow tm_traced")
    assert (start.trace_id, start.parent_id) == (caller_trace, caller_span)
    assert start.attributes["workflow.instance_id"] == run_uri.rstrip("/").rsplit("/", 1)[-1]
    run_spans = [s for s in spans if s.trace_id == caller_trace]
    assert len(run_spans) == len(spans), sorted(s.name for s in spans if s.trace_id != caller_trace)

    # Every step attempt once, each a child of the start, wherever and whenever it ran.
    steps = _named(spans, "step ")
    names = Counter(s.name for s in steps)
    assert set(names.values()) == {1}, names
    assert sorted(names) == sorted(
        f"step {executor} (tm_traced, superstep {superstep}, item 0, attempt {attempt})"
        for executor, superstep, attempt in [
            ("receive", 1, 1),
            ("check_stock", 2, 1),
            ("check_fraud", 2, 1),
            ("check_fraud", 2, 2),
            ("decide", 3, 1),
            ("approved", 5, 1),
            ("draft_note", 6, 1),
            ("finish", 7, 1),
        ]
    )
    assert {s.parent_id for s in steps} == {start.span_id}
    before = start.resource["service.instance.id"]
    after_restart = [s for s in steps if s.resource["service.instance.id"] != before]
    restarted = {s.attributes["workflow.executor.id"] for s in after_restart}
    assert restarted == {"approved", "draft_note", "finish"}

    # Episodes: children of the start, only for new work, so approvals open and close once.
    episodes = _named(spans, "orchestrator episode tm_traced")
    assert len(episodes) >= 5 and {e.parent_id for e in episodes} == {start.span_id}
    events: list[tuple[str, dict[str, Any]]] = [(e.name, e.attributes) for s in episodes for e in s.events]
    assert [name for name, _ in events] == ["approval.opened", "approval.closed"]
    closed = events[1][1]
    assert closed["workflow.approval.outcome"] == "answered"
    assert closed["workflow.approval.via"] == "endpoint"
    assert closed["workflow.approval.decided_by"] == "alice"
    assert closed["workflow.approval.id"] == "manager"
    last = max(episodes, key=lambda e: e.end_ns)
    assert last.attributes["workflow.run.status"] == "completed"

    # The model call, as the gen_ai conventions describe it. The agent step runs as an orchestration of
    # its own, each call an activity: the call's span hangs under the run, within its step's span.
    [chat] = _named(spans, "chat gpt-test")
    [draft] = [s for s in steps if s.attributes["workflow.executor.id"] == "draft_note"]
    assert chat.parent_id == draft.parent_id == start.span_id
    assert chat.attributes["gen_ai.agent.name"] == "draft_note"
    assert draft.start_ns <= chat.start_ns and chat.end_ns <= draft.end_ns
    assert chat.attributes["gen_ai.provider.name"] == "openai"
    usage = (chat.attributes["gen_ai.usage.input_tokens"], chat.attributes["gen_ai.usage.output_tokens"])
    assert usage == (31, 9)
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["stop"]

    # Metrics from both processes.
    assert receiver.total("workflow.steps.started") == 8
    assert receiver.total("workflow.steps.failed") == 1
    assert receiver.total("workflow.steps.retried") == 1
    assert receiver.total("workflow.step.duration", count=True) == 8
    assert receiver.total("gen_ai.client.token.usage", **{"gen_ai.token.type": "input"}) == 31
    assert receiver.total("workflow.approvals.pending") == 0
