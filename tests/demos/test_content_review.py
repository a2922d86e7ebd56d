"""The content-review demo end to end on the in-memory runner, with the offline model."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from engine import InMemoryRunner, ManualClock, RunResult
from engine.agents import OpenAIProvider
from executors.content import MAX_DRAFT_CHARS, Verdict, review_revision, slugify
from tests.agents.fake_openai import FakeOpenAI, Reply, Seen, completion
from workflows.content_review import workflow


def submission(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Durable workflows on Azure Functions",
        "author": "ada",
        "draft": "Durable Functions let a workflow wait for days for a person without a server.",
        "audience": "technical",
        "max_rounds": 3,
    }
    return {**data, **changes}


def runs_of(result: RunResult, executor_id: str) -> int:
    return sum(1 for e in result.events if e.kind == "executor_started" and e.executor_id == executor_id)


async def until_approval(runner: InMemoryRunner, data: dict[str, Any]) -> RunResult:
    result = await runner.run(workflow, data)
    assert result.status == "waiting_for_approval", result.error
    [pending] = result.pending_approvals
    assert pending.approval_id == "publication_approval"
    return result


def only_output(result: RunResult) -> dict[str, Any]:
    assert result.status == "completed", result.error
    [output] = result.outputs_json()
    return output


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI.serving() as server:
        yield server


def reviewer_saying(monkeypatch: pytest.MonkeyPatch, fake: FakeOpenAI, approved: bool) -> None:
    """The reviewer asks a model service (the test's OpenAI-compatible server) that always answers so, to
    drive the loop whichever way the offline model leans; the other agents stay offline."""

    def verdict(seen: Seen) -> Reply:
        text = seen.messages[-1]["content"]
        round_no = json.loads(text.split("```json\n")[1].split("\n```")[0])["round"]
        feedback = [] if approved else [f"round {round_no}: tighten it"]
        return completion(Verdict(approved=approved, feedback=feedback).model_dump())

    fake.expect(*[verdict] * 10)
    monkeypatch.setattr(review_revision, "provider", OpenAIProvider(base_url=fake.v1, model="reviewer"))


async def test_approved_draft_is_published(runner: InMemoryRunner) -> None:
    result = await until_approval(runner, submission())
    for agent in ("check_facts", "check_tone", "check_compliance", "edit_brief"):
        assert runs_of(result, agent) == 1
    request = result.pending_approvals[0]
    answer = {request.request_id: {"approved": True, "comment": "Ship it"}}
    out = only_output(await runner.resume(result.state, answer, workflow=workflow))
    assert out["status"] == "published"
    assert out["slug"] == "durable-workflows-on-azure-functions"
    assert 1 <= out["rounds"] <= 3
    assert out["text"] == request.request["state"]["text"]
    assert out["comment"] == "Ship it"


async def test_rejected_draft_is_not_published(runner: InMemoryRunner) -> None:
    result = await until_approval(runner, submission())
    answer = {result.pending_approvals[0].request_id: {"approved": False, "comment": "Wait for legal"}}
    out = only_output(await runner.resume(result.state, answer, workflow=workflow))
    assert (out["status"], out["slug"], out["comment"]) == ("rejected", None, "Wait for legal")


async def test_no_decision_before_the_deadline_means_not_published(
    runner: InMemoryRunner, clock: ManualClock
) -> None:
    result = await until_approval(runner, submission())
    clock.advance(timedelta(hours=71))
    assert (await runner.resume(result.state, workflow=workflow)).status == "waiting_for_approval"
    clock.advance(timedelta(hours=2))
    out = only_output(await runner.resume(result.state, workflow=workflow))
    assert out["status"] == "rejected"
    assert "no decision within 72 hours" in out["comment"]


@pytest.mark.parametrize("max_rounds", [1, 3, 5])
async def test_loop_stops_at_max_rounds_when_the_reviewer_never_approves(
    runner: InMemoryRunner, monkeypatch: pytest.MonkeyPatch, fake: FakeOpenAI, max_rounds: int
) -> None:
    reviewer_saying(monkeypatch, fake, approved=False)
    result = await until_approval(runner, submission(max_rounds=max_rounds))
    assert runs_of(result, "write_revision") == max_rounds
    assert runs_of(result, "review_revision") == max_rounds
    request = result.pending_approvals[0].request
    assert (request["state"]["round"], request["forced"], request["accepted"]) == (max_rounds, True, True)
    if max_rounds > 1:
        # The writer of the last round saw the reviewer's feedback on the round before.
        assert request["state"]["feedback"] == [f"round {max_rounds - 1}: tighten it"]


async def test_reviewer_approval_ends_the_loop_early(
    runner: InMemoryRunner,
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeOpenAI,
) -> None:
    reviewer_saying(monkeypatch, fake, approved=True)
    result = await until_approval(runner, submission(max_rounds=5))
    assert runs_of(result, "write_revision") == 1
    request = result.pending_approvals[0].request
    assert (request["state"]["round"], request["forced"]) == (1, False)


async def test_offline_runs_terminate_and_repeat(runner: InMemoryRunner) -> None:
    for rounds in range(1, 6):
        first = await until_approval(runner, submission(title="Case study", max_rounds=rounds))
        second = await until_approval(runner, submission(title="Case study", max_rounds=rounds))
        assert first.pending_approvals[0].request == second.pending_approvals[0].request
        assert 1 <= first.pending_approvals[0].request["state"]["round"] <= rounds


@pytest.mark.parametrize(
    "changes",
    [
        {"draft": ""},
        {"draft": "   \n "},
        {"draft": "x" * (MAX_DRAFT_CHARS + 1)},
        {"title": ""},
        {"author": " "},
        {"max_rounds": 0},
        {"max_rounds": 6},
        {"audience": "children"},
    ],
)
async def test_invalid_submission_is_refused(runner: InMemoryRunner, changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        await runner.run(workflow, submission(**changes))


def test_input_schema_offers_examples() -> None:
    properties = workflow.input_schema()["properties"]
    assert properties["draft"]["examples"]
    assert properties["max_rounds"]["examples"] == [2]
    assert workflow.description


def test_slugify() -> None:
    assert slugify("  Hello, World! 2030 ") == "hello-world-2030"
    assert slugify("!!!") == "untitled"
