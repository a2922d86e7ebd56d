"""The step activity: run one executor for the durable orchestrator, at least once, JSON in and out.

It never raises for an executor's failure: it returns a ``StepResult`` saying whether the failure is worth
another attempt, so the orchestrator applies the executor's whole ``RetryPolicy`` (backoff, maximum
interval, non-retryable types, a server's Retry-After) with durable timers.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from engine.graph import Workflow
from engine.invoke import invoke
from engine.model import Executor, NonRetryableError, StepContext, TransientError
from engine.run_state import RunError
from engine.settings import engine_settings

log = logging.getLogger("engine.step")


class StepRequest(BaseModel):
    workflow: str
    executor: str
    instance_id: str
    superstep: int
    attempt: int = 1
    idempotency_key: str
    message: Any = None


class StepIdentity(BaseModel):
    """Which step a result belongs to: the status API shows activity results but never their inputs."""

    executor: str
    superstep: int
    attempt: int


class StepResult(BaseModel):
    ok: bool
    step: StepIdentity | None = None
    output: Any = None
    error: RunError | None = None
    retryable: bool = False
    retry_after_ms: float | None = None
    duration_ms: float = 0.0
    annotations: dict[str, Any] = Field(default_factory=dict)


def _identity(request: StepRequest) -> StepIdentity:
    return StepIdentity(executor=request.executor, superstep=request.superstep, attempt=request.attempt)


def _failure(error: RunError, *, retryable: bool = False, **fields: Any) -> dict[str, Any]:
    return StepResult(ok=False, error=error, retryable=retryable, **fields).model_dump(mode="json")


async def run_step(workflows: Mapping[str, Workflow], payload: Any) -> dict[str, Any]:
    """Execute the step described by ``payload`` (a ``StepRequest`` as JSON) and describe the outcome."""
    try:
        request = (
            StepRequest.model_validate_json(payload)
            if isinstance(payload, str | bytes)
            else (StepRequest.model_validate(payload))
        )
    except ValidationError as exc:
        return _failure(RunError(type="InvalidStepRequest", message=str(exc)))
    workflow = workflows.get(request.workflow)
    node = workflow.nodes.get(request.executor) if workflow else None
    if not isinstance(node, Executor):
        return _failure(
            step=_identity(request),
            error=RunError(
                executor_id=request.executor,
                type="UnknownExecutor",
                message=f"no executor {request.executor!r} in workflow {request.workflow!r} of this app",
            ),
        )
    try:
        message = node.input_adapter.validate_python(request.message)
    except ValidationError as exc:
        return _failure(
            RunError(executor_id=node.id, type="InvalidStepInput", message=str(exc)), step=_identity(request)
        )
    ctx = StepContext(
        workflow=request.workflow,
        instance_id=request.instance_id,
        executor_id=node.id,
        attempt=request.attempt,
        idempotency_key=request.idempotency_key,
        logger=logging.getLogger(f"engine.step.{node.id}"),
    )
    started = time.perf_counter()
    try:
        output = await invoke(node, message, ctx, in_thread=True)
    except Exception as exc:
        elapsed = (time.perf_counter() - started) * 1000
        log.warning("step %s of %s attempt %d failed: %s", node.id, request.instance_id, request.attempt, exc)
        policy = node.retry
        retryable = not isinstance(exc, NonRetryableError) and (policy is None or policy.retries(exc, 0))
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        return _failure(
            RunError(executor_id=node.id, type=type(exc).__name__, message=str(exc)),
            retryable=retryable,
            retry_after_ms=retry_after.total_seconds() * 1000 if retry_after else None,
            step=_identity(request),
            duration_ms=elapsed,
            annotations=ctx.annotations,
        )
    dumped = None if output is None else node.output_adapter.dump_python(output, mode="json")
    size = 0 if dumped is None else len(json.dumps(dumped, separators=(",", ":")))
    limit = engine_settings().max_payload_bytes
    if size > limit:
        # Failing here, before the host stores it, keeps an oversized payload out of the run's state.
        return _failure(
            RunError(
                executor_id=node.id,
                type="PayloadTooLarge",
                message=f"the output of executor {node.id!r} is {size} bytes, over the configured maximum of "
                f"{limit} bytes (app setting WORKFLOW_MAX_PAYLOAD_BYTES); pass large data by reference",
            ),
            duration_ms=(time.perf_counter() - started) * 1000,
            step=_identity(request),
        )
    return StepResult(
        ok=True,
        step=_identity(request),
        output=dumped,
        duration_ms=(time.perf_counter() - started) * 1000,
        annotations=ctx.annotations,
    ).model_dump(mode="json")
