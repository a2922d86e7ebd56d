"""The step activity: run one executor for the durable orchestrator, at least once, JSON in and out.

A failed attempt that another attempt follows is returned as a ``StepResult`` classifying the failure;
the orchestrator waits out the delay on a durable timer. When ``engine.core.retry.retry_delay`` says no
attempt follows (the same call the orchestrator makes, on the same graph), the activity raises
``StepFailedForGood`` instead: the host records a failed activity, so a rewind runs the step again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from engine.core.app_settings import byte_size
from engine.core.execution import run_attempt, step_context
from engine.core.executor import Executor
from engine.core.graph import Workflow
from engine.core.jsontext import validated
from engine.core.retry import FailureKind, RetryPolicy, retry_delay
from engine.core.run_state import RunError
from engine.core.versions import WorkflowVersions
from engine.durable.step_messages import StepFailedForGood, StepRequest, StepResult
from engine.telemetry.steps import step_trace

log = logging.getLogger("engine.step")
MAX_PAYLOAD = "WORKFLOW_MAX_PAYLOAD_BYTES"
DEFAULT_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024


def _failure(error: RunError, **fields: Any) -> StepResult:
    return StepResult(ok=False, error=error, **fields)


async def run_step(workflows: WorkflowVersions | Mapping[str, Workflow], payload: Any) -> dict[str, Any]:
    """Execute the step described by ``payload`` (a ``StepRequest`` as JSON) and describe the outcome;
    raises ``StepFailedForGood`` when the step failed and no attempt follows."""
    try:
        request = validated(StepRequest, payload)
    except ValidationError as exc:
        raise StepFailedForGood(_failure(RunError(type="InvalidStepRequest", message=str(exc)))) from None
    with step_trace(
        workflow=request.workflow,
        instance_id=request.instance_id,
        executor=request.executor,
        superstep=request.superstep,
        item=request.ordinal,
        attempt=request.attempt,
        idempotency_key=request.idempotency_key,
        version=request.version,
        traceparent=request.traceparent,
        durable=True,
    ) as traced:
        result, policy = await _attempt(workflows, request)
        follows = False
        if not result.ok:
            ms = result.retry_after_ms
            retry_after = timedelta(milliseconds=ms) if ms is not None else None
            failure = FailureKind(result.retryable, retry_after)
            follows = retry_delay(policy, failure, request.attempt) is not None
        traced.finished(
            error_type=result.error.type if result.error else None,
            retried=follows,
            duration_ms=result.duration_ms,
        )
    if not result.ok and not follows:
        raise StepFailedForGood(result)
    return result.model_dump(mode="json")


async def _attempt(
    workflows: WorkflowVersions | Mapping[str, Workflow], request: StepRequest
) -> tuple[StepResult, RetryPolicy | None]:
    """The attempt's result and the step's retry policy (None: not a step of this app)."""
    identity = request.identity()
    if isinstance(workflows, WorkflowVersions):
        versions = workflows.versions(request.workflow)
        workflow = workflows.labelled(request.workflow, request.version) if request.version else None
        workflow = workflow or (versions[-1] if versions and request.version is None else None)
    else:
        workflow = workflows.get(request.workflow)
    node = workflow.nodes.get(request.executor) if workflow else None
    if not isinstance(node, Executor):
        failure = _failure(
            RunError(
                executor_id=request.executor,
                type="UnknownExecutor",
                message=f"no executor {request.executor!r} in workflow {request.workflow!r}"
                + (f" version {request.version!r}" if request.version else "")
                + " of this app",
            ),
            step=identity,
        )
        return failure, None
    try:
        message = node.input_adapter.validate_python(request.message)
    except ValidationError as exc:
        failure = _failure(
            RunError(executor_id=node.id, type="InvalidStepInput", message=str(exc)), step=identity
        )
        return failure, None
    ctx = step_context(
        request.workflow, request.instance_id, node.id, request.attempt, request.idempotency_key
    )
    outcome = await run_attempt(node, message, ctx, in_thread=True)
    if outcome.error is not None:
        assert outcome.failure is not None
        log.warning(
            "step %s of %s attempt %d failed: %s",
            node.id,
            request.instance_id,
            request.attempt,
            outcome.error,
        )
        retry_after = outcome.failure.retry_after
        failure = _failure(
            outcome.error,
            retryable=outcome.failure.retryable,
            retry_after_ms=retry_after.total_seconds() * 1000 if retry_after else None,
            step=identity,
            duration_ms=outcome.duration_ms,
            annotations=ctx.annotations,
        )
        return failure, node.retry
    dumped = None if outcome.output is None else node.output_adapter.dump_python(outcome.output, mode="json")
    size = 0 if dumped is None else len(json.dumps(dumped, separators=(",", ":")))
    limit = byte_size(MAX_PAYLOAD, DEFAULT_MAX_PAYLOAD_BYTES)
    if size > limit:
        # Failing here, before the host stores it, keeps an oversized payload out of the run's state.
        failure = _failure(
            RunError(
                executor_id=node.id,
                type="PayloadTooLarge",
                message=f"the output of executor {node.id!r} is {size} bytes, over the configured maximum of "
                f"{limit} bytes (app setting {MAX_PAYLOAD}); pass large data by reference",
            ),
            duration_ms=outcome.duration_ms,
            step=identity,
        )
        return failure, None
    result = StepResult(
        ok=True, step=identity, output=dumped, duration_ms=outcome.duration_ms, annotations=ctx.annotations
    )
    return result, node.retry
