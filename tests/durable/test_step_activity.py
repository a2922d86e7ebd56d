"""The step activity on its own: results for success and for failures another attempt follows; a raised
``StepFailedForGood`` (carrying the result) for bad input, oversized payloads and exhausted retries."""

from __future__ import annotations

import pytest

from engine.durable.step_activity import StepResult, run_step
from engine.durable.step_messages import StepFailedForGood, final_failure_in
from tests.durable.graphs import big, failing

WORKFLOWS = {w.name: w for w in (big, failing)}


def request(workflow: str, executor: str, message: object, attempt: int = 1) -> dict[str, object]:
    return {
        "workflow": workflow,
        "executor": executor,
        "instance_id": "i-1",
        "superstep": 1,
        "attempt": attempt,
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


async def final_failure(workflow: str, executor: str, message: object, attempt: int = 1) -> StepResult:
    """The result a final failure carries, read back from its message as the orchestrator does."""
    with pytest.raises(StepFailedForGood) as raised:
        await run_step(WORKFLOWS, request(workflow, executor, message, attempt))
    # A host wraps the message in its own words (devhost: "Activity function 'run_step' failed: ...").
    found = final_failure_in(f"Activity function 'run_step' failed: {raised.value} \n Traceback ...")
    assert found == raised.value.result
    return found


async def test_invalid_input_is_a_non_retryable_failure() -> None:
    result = await final_failure("t_big", "inflate", {"repeat": "x"})
    assert not result.ok and not result.retryable
    assert result.error is not None and result.error.type == "InvalidStepInput"


async def test_unknown_executor_is_named() -> None:
    result = await final_failure("t_big", "nope", {})
    assert result.error is not None and "no executor 'nope'" in result.error.message


async def test_executor_exception_is_retryable_under_its_policy() -> None:
    result = StepResult.model_validate(
        await run_step(WORKFLOWS, request("t_failing", "always_fails", {"key": "a"}))
    )
    assert not result.ok and result.retryable
    assert result.error is not None and result.error.message == "boom on attempt 1"
    assert result.step is not None and result.step.executor == "always_fails"


async def test_the_last_attempt_of_a_failing_step_raises_so_a_rewind_runs_it_again() -> None:
    # The policy allows 3 attempts: the third failure is final (retry_delay says no attempt follows).
    result = await final_failure("t_failing", "always_fails", {"key": "a"}, attempt=3)
    assert result.retryable and result.error is not None and result.error.message == "boom on attempt 3"
    assert result.step is not None and result.step.attempt == 3


async def test_output_over_the_payload_limit_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKFLOW_MAX_PAYLOAD_BYTES", "1000")
    result = await final_failure("t_big", "inflate", {"text": "z" * 600, "repeat": 2})
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
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    wire = StepRequest.wire(**values)
    assert wire == StepRequest(**values).model_dump(mode="json")
    assert list(wire) == list(StepRequest.model_fields)
    assert StepRequest.model_validate(wire).identity().ordinal == 2
