"""In memory: a run and its resumption as spans, steps nested under them, approvals as events, the
agent's model call as a gen_ai span, and the step, token and approval metrics; all through the real
OpenTelemetry SDK, exported over OTLP/HTTP to a loopback receiver."""

from __future__ import annotations

from datetime import timedelta

from engine import InMemoryRunner, ManualClock
from engine.telemetry.state import configure_telemetry
from tests.agents.fake_openai import FakeOpenAI, completion
from tests.telemetry.conftest import Exporting
from tests.telemetry.otlp import Receiver, Span
from tests.telemetry.workflows import workflow

ORDER = {"order_id": "A-1", "amount": 100.0}


def _one(spans: list[Span], name: str) -> Span:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, sorted(s.name for s in spans))
    return found[0]


def _subset(attributes: dict[str, object]) -> _Picker:
    return _Picker(attributes)


class _Picker:
    """Equal to a dict when ``attributes`` hold at least its items: ``_subset(span.attributes) == {...}``."""

    def __init__(self, attributes: dict[str, object]) -> None:
        self.attributes = attributes

    def __eq__(self, expected: object) -> bool:
        assert isinstance(expected, dict)
        return {k: self.attributes.get(k) for k in expected} == expected

    def __repr__(self) -> str:
        return repr(self.attributes)


def _sum(receiver: Receiver, metric: str, **attributes: object) -> float:
    return sum(
        p.value
        for p in receiver.metric(metric)
        if all(p.attributes.get(k) == v for k, v in attributes.items())
    )


async def test_a_run_and_its_resumption_are_traced(exporting: Exporting, fake_openai: FakeOpenAI) -> None:
    fake_openai.expect(completion({"text": "refund approved"}, usage=(20, 7)))
    waiting = await InMemoryRunner().run(workflow, ORDER, instance_id="run-1")
    assert waiting.status == "waiting_for_approval", waiting.error
    request_id = waiting.pending_approvals[0].request_id
    answers = {request_id: {"approved": True}}
    saved = waiting.state.model_dump_json()
    done = await InMemoryRunner().resume(saved, answers, workflow=workflow, decided_by="alice")
    assert done.status == "completed", done.error
    spans = exporting.flush().spans

    run = _one(spans, "run workflow tm_traced")
    resumed = _one(spans, "resume workflow tm_traced")
    assert run.attributes["workflow.instance_id"] == "run-1"
    assert run.attributes["workflow.run.status"] == "waiting_for_approval"
    assert resumed.attributes["workflow.run.status"] == "completed"
    [opened] = [e for e in run.events if e.name == "approval.opened"]
    assert opened.attributes["workflow.approval.id"] == "manager"
    assert opened.attributes["workflow.approval.request_id"] == request_id
    assert "workflow.approval.deadline" in opened.attributes
    [closed] = [e for e in resumed.events if e.name == "approval.closed"]
    assert closed.attributes == {
        "workflow.approval.id": "manager",
        "workflow.approval.request_id": request_id,
        "workflow.approval.outcome": "answered",
        "workflow.approval.via": "runner",
        "workflow.approval.decided_by": "alice",
    }

    # Every step attempt: a span named for it, under the run (or resumption) span it ran in.
    first = _one(spans, "step check_fraud (tm_traced, superstep 2, item 0, attempt 1)")
    second = _one(spans, "step check_fraud (tm_traced, superstep 2, item 0, attempt 2)")
    assert first.parent_id == run.span_id and first.status == 2
    assert first.attributes["error.type"] == "TransientError"
    assert first.attributes["workflow.step.retried"] is True
    assert second.attributes["workflow.step.outcome"] == "succeeded"
    assert _subset(second.attributes) == {
        "workflow.name": "tm_traced",
        "workflow.executor.id": "check_fraud",
        "workflow.superstep": 2,
        "workflow.step.item": 0,
        "workflow.step.attempt": 2,
    }
    stock = _one(spans, "step check_stock (tm_traced, superstep 2, item 0, attempt 1)")
    assert stock.parent_id == run.span_id
    draft = _one(spans, "step draft_note (tm_traced, superstep 6, item 0, attempt 1)")
    assert draft.parent_id == resumed.span_id
    steps = [s for s in spans if s.name.startswith("step ")]
    assert len(steps) == 8
    assert {s.trace_id for s in steps if s.parent_id == run.span_id} == {run.trace_id}

    # The model call, as the gen_ai conventions have it, inside the agent's step.
    chat = _one(spans, "chat gpt-test")
    assert chat.parent_id == draft.span_id and chat.kind == 3  # CLIENT
    assert str(chat.attributes["gen_ai.response.id"]).startswith("chatcmpl-")
    assert _subset(chat.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-test",
        "gen_ai.response.model": "scripted",  # what the service says it answered with
        "gen_ai.usage.input_tokens": 20,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.agent.name": "draft_note",
        "server.address": "127.0.0.1",
    }

    received = exporting.receiver
    assert _sum(received, "workflow.steps.started") == 8
    assert _sum(received, "workflow.steps.started", **{"workflow.executor.id": "check_fraud"}) == 2
    assert _sum(received, "workflow.steps.failed", **{"error.type": "TransientError"}) == 1
    assert _sum(received, "workflow.steps.retried") == 1
    durations = received.metric("workflow.step.duration")
    assert sum(p.count for p in durations) == 8 and {p.unit for p in durations} == {"s"}
    assert _sum(received, "gen_ai.client.token.usage", **{"gen_ai.token.type": "input"}) == 20
    assert _sum(received, "gen_ai.client.token.usage", **{"gen_ai.token.type": "output"}) == 7
    assert _sum(received, "workflow.approvals.pending") == 0  # opened, then closed


async def test_pending_approvals_count_up_while_they_wait(
    exporting: Exporting, fake_openai: FakeOpenAI
) -> None:
    for n in range(3):
        result = await InMemoryRunner().run(workflow, ORDER, instance_id=f"waiting-{n}")
        assert result.status == "waiting_for_approval"
    received = exporting.flush()
    assert _sum(received, "workflow.approvals.pending", **{"workflow.approval.id": "manager"}) == 3


async def test_with_telemetry_off_nothing_is_recorded(exporting: Exporting, fake_openai: FakeOpenAI) -> None:
    configure_telemetry(None)
    result = await InMemoryRunner().run(workflow, ORDER)
    assert result.status == "waiting_for_approval"
    received = exporting.flush()
    assert received.spans == [] and received.points == []


async def test_an_approval_past_its_deadline_closes_as_timed_out(
    exporting: Exporting, fake_openai: FakeOpenAI
) -> None:
    clock = ManualClock()
    waiting = await InMemoryRunner(clock=clock).run(workflow, ORDER)
    assert waiting.status == "waiting_for_approval"
    clock.advance(timedelta(hours=2))
    ended = await InMemoryRunner(clock=clock).resume(waiting.state.model_dump_json(), workflow=workflow)
    assert ended.status == "failed" and ended.error is not None  # by default a lapsed approval fails the run
    spans = exporting.flush().spans
    resumed = _one(spans, "resume workflow tm_traced")
    assert resumed.status == 2 and resumed.attributes["workflow.run.status"] == "failed"
    assert resumed.attributes["error.type"] == ended.error.type
    [closed] = [e for e in resumed.events if e.name == "approval.closed"]
    assert closed.attributes["workflow.approval.outcome"] == "timed_out"
    assert closed.attributes["workflow.approval.via"] == "timeout"
    assert "workflow.approval.decided_by" not in closed.attributes
    assert exporting.receiver.total("workflow.approvals.pending") == 0
