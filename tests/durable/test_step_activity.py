"""The step activity on its own: envelopes for success, failures, bad input and oversized payloads."""

from __future__ import annotations

import pytest

from engine.durable.step_activity import StepResult, run_step
from tests.durable.graphs import big, failing

WORKFLOWS = {w.name: w for w in (big, failing)}


def request(workflow: str, executor: str, message: object) -> dict[str, object]:
    return {
        "workflow": workflow,
        "executor": executor,
        "instance_id": "i-1",
        "superstep": 1,
        "attempt": 1,
        "idempotency_key": "k-1",
        "message": message,
    }


async def test_success_carries_the_output_as_json() -> None:
    result = StepResult.model_validate(
        await run_step(WORKFLOWS, request("t_big", "inflate", {"text": "ab", "repeat": 2}))
    )
    assert result.ok and result.output == {"text": "abab", "repeat": 1}
    # The status API never shows an activity's input: the result names its step for the timeline.
    assert result.step is not None and (result.step.executor, result.step.superstep) == ("inflate", 1)


async def test_invalid_input_is_a_non_retryable_failure() -> None:
    result = StepResult.model_validate(
        await run_step(WORKFLOWS, request("t_big", "inflate", {"repeat": "x"}))
    )
    assert not result.ok and not result.retryable
    assert result.error is not None and result.error.type == "InvalidStepInput"


async def test_unknown_executor_is_named() -> None:
    result = StepResult.model_validate(await run_step(WORKFLOWS, request("t_big", "nope", {})))
    assert result.error is not None and "no executor 'nope'" in result.error.message


async def test_executor_exception_is_retryable_under_its_policy() -> None:
    result = StepResult.model_validate(
        await run_step(WORKFLOWS, request("t_failing", "always_fails", {"key": "a"}))
    )
    assert not result.ok and result.retryable
    assert result.error is not None and result.error.message == "boom on attempt 1"
    assert result.step is not None and result.step.executor == "always_fails"


async def test_output_over_the_payload_limit_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKFLOW_MAX_PAYLOAD_BYTES", "1000")
    result = StepResult.model_validate(
        await run_step(WORKFLOWS, request("t_big", "inflate", {"text": "z" * 600, "repeat": 2}))
    )
    assert not result.ok and not result.retryable
    assert result.error is not None and result.error.type == "PayloadTooLarge"
    assert "WORKFLOW_MAX_PAYLOAD_BYTES" in result.error.message


def test_the_wire_form_of_a_step_request_is_its_model_dump() -> None:
    from engine.durable.step_messages import StepRequest

    values = {
        "workflow": "w",
        "executor": "tick",
        "instance_id": "i-1",
        "superstep": 4,
        "ordinal": 2,
        "attempt": 3,
        "version": "2",
        "idempotency_key": "k" * 32,
        "message": {"left": 1, "tags": ["a"]},
    }
    wire = StepRequest.wire(**values)
    assert wire == StepRequest(**values).model_dump(mode="json")
    assert list(wire) == list(StepRequest.model_fields)
    assert StepRequest.model_validate(wire).identity().ordinal == 2
