"""The call activity: one attempt of one call of a looping step (a model call, a tool call), JSON in and out.

It runs ``engine.core.execution.run_call`` (the same path the in-memory runner takes) with the call's own
idempotency key. A failed attempt that another attempt follows comes back as a ``CallOutcome`` saying
so; the step's orchestration waits out the delay on a durable timer. When ``retry_delay`` says no
attempt follows (the question the orchestration asks too, on the same graph), the activity raises
``CallFailedForGood`` instead, so the host records a failed activity that a rewind runs again. The call's
spans (``chat``, ``execute_tool``) join the run's trace through the ``traceparent`` the request carries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from engine.core.execution import run_call, step_context
from engine.core.graph import Workflow
from engine.core.jsontext import validated
from engine.core.loop_calls import CallOutcome, call_idempotency_key
from engine.core.retry import FailureKind, retry_delay
from engine.core.run_error import RunError
from engine.core.step_loop import LoopExecutor
from engine.core.versions import WorkflowVersions
from engine.durable.loop_messages import CallFailedForGood, CallRequest
from engine.telemetry.propagation import joined_run

log = logging.getLogger("engine.step")


async def run_step_call(workflows: WorkflowVersions | Mapping[str, Workflow], payload: Any) -> dict[str, Any]:
    """Make the call ``payload`` (a ``CallRequest`` as JSON) describes; its ``CallOutcome`` as JSON.
    Raises ``CallFailedForGood`` when the call failed and no attempt follows."""
    try:
        request = validated(CallRequest, payload)
    except ValidationError as exc:
        error = RunError(type="InvalidCallRequest", message=str(exc))
        raise CallFailedForGood(CallOutcome(key="?", kind="?", name="?", ok=False, error=error)) from None
    call = request.call
    node = _node(workflows, request)
    if node is None:
        message = f"no looping step {request.executor!r} in workflow {request.workflow!r} of this app"
        error = RunError(executor_id=request.executor, type="UnknownExecutor", message=message)
        outcome = CallOutcome(key=call.key, kind=call.kind, name=call.name, attempt=request.attempt, ok=False)
        raise CallFailedForGood(outcome.model_copy(update={"error": error}))
    ctx = step_context(
        request.workflow,
        request.instance_id,
        node.id,
        request.attempt,
        call_idempotency_key(request.idempotency_key, call.key),
        request.run_nonce,
    )
    with joined_run(request.traceparent, request.instance_id):
        outcome = await run_call(node, call, request.attempt, ctx)
    if outcome.ok:
        return outcome.model_dump(mode="json")
    ms = outcome.retry_after_ms
    failure = FailureKind(outcome.retryable, timedelta(milliseconds=ms) if ms is not None else None)
    log.warning(
        "call %s (%s %s) of step %s of %s, attempt %d, failed: %s",
        call.key,
        call.kind,
        call.name,
        node.id,
        request.instance_id,
        request.attempt,
        outcome.error,
    )
    if retry_delay(node.call_retry(call), failure, request.attempt) is None:
        raise CallFailedForGood(outcome)
    return outcome.model_dump(mode="json")


def _node(workflows: WorkflowVersions | Mapping[str, Workflow], request: CallRequest) -> LoopExecutor | None:
    if isinstance(workflows, WorkflowVersions):
        versions = workflows.versions(request.workflow)
        workflow = workflows.labelled(request.workflow, request.version) if request.version else None
        workflow = workflow or (versions[-1] if versions and request.version is None else None)
    else:
        workflow = workflows.get(request.workflow)
    node = workflow.nodes.get(request.executor) if workflow is not None else None
    return node if isinstance(node, LoopExecutor) else None


__all__ = ["run_step_call"]
