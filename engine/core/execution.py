"""THE step execution path: one attempt of one executor, as both runners run it.

``run_attempt`` calls the handler (async, inline, or in a worker thread), validates the output against
the executor's output type and, on failure, classifies the exception for ``engine.core.retry``. The
in-memory runner calls it in-process; the durable step activity calls it inside an activity.
``run_call`` is the same for one attempt of one call of a looping step (``engine.core.step_loop``): the
in-memory runner calls it in-process, the durable call activity inside an activity.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from engine.core.executor import Executor, StepContext
from engine.core.loop_calls import CallOutcome, LoopCall
from engine.core.retry import FailureKind, StepTimedOut, classify
from engine.core.run_state import RunError
from engine.core.step_loop import LoopExecutor
from engine.core.step_threads import step_threads

STEP_LOGGER = "engine.step"
_loggers: dict[str, logging.Logger] = {}


def step_logger(executor_id: str) -> logging.Logger:
    """``engine.step.<id>``, looked up once per executor id (getLogger takes a lock every call)."""
    logger = _loggers.get(executor_id)
    if logger is None:
        logger = _loggers[executor_id] = logging.getLogger(f"{STEP_LOGGER}.{executor_id}")
    return logger


def step_context(
    workflow: str,
    instance_id: str,
    executor_id: str,
    attempt: int,
    idempotency_key: str,
    execution: str | None = None,
) -> StepContext:
    """The context a step's handler receives, with a logger named for its executor (``execution``: the
    run's nonce, where a durable run has one)."""
    return StepContext(
        workflow=workflow,
        instance_id=instance_id,
        executor_id=executor_id,
        attempt=attempt,
        idempotency_key=idempotency_key,
        logger=step_logger(executor_id),
        execution=execution,
    )


@dataclass(slots=True)
class Attempt:
    """How one attempt ended: a validated output (``None`` sends nothing), or an error and its kind."""

    output: Any
    error: RunError | None
    failure: FailureKind | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        """Whether the attempt succeeded."""
        return self.error is None


def _handle_in_thread(executor: Executor[Any, Any], message: Any, ctx: StepContext) -> Any:
    """A sync handler's call in a worker thread. A ``StopIteration`` it raises (``next()`` on an empty
    iterator) cannot cross into an asyncio future (asyncio refuses it, and the step would wait forever), so
    it comes back as a ``RuntimeError``, as PEP 479 turns it into one inside generators."""
    try:
        return executor.handle(message, ctx)
    except StopIteration as exc:
        raise RuntimeError(
            f"executor {executor.id!r} raised StopIteration{f': {exc}' if str(exc) else ''}"
        ) from exc


async def run_attempt(
    executor: Executor[Any, Any], message: Any, ctx: StepContext, *, in_thread: bool
) -> Attempt:
    """Run one attempt. A sync handler runs in a worker thread when ``in_thread`` (or when the executor
    has a timeout, which an inline call could not keep), else inline."""
    started = time.perf_counter()
    limit = executor.step_timeout
    try:
        if executor.is_async:
            call = executor.handle(message, ctx)
        elif in_thread or limit is not None:
            call = step_threads().submit(_handle_in_thread, executor, message, ctx)
        else:
            call = None
        if call is None:
            produced = executor.handle(message, ctx)
        elif limit is None:
            produced = await call  # type: ignore[misc]
        else:
            try:
                # The abandoned attempt may go on (a thread cannot be stopped): the idempotency key covers it.
                produced = await asyncio.wait_for(call, limit.total_seconds())  # type: ignore[arg-type]
            except TimeoutError:
                raise StepTimedOut(executor.id, limit) from None
        output = None if produced is None else executor.output_adapter.validator.validate_python(produced)
    except Exception as error:
        return Attempt(
            output=None,
            error=RunError(executor_id=executor.id, type=type(error).__name__, message=str(error)),
            failure=classify(error, executor.retry),
            duration_ms=(time.perf_counter() - started) * 1000,
        )
    return Attempt(output, None, None, (time.perf_counter() - started) * 1000)


async def run_call(executor: LoopExecutor, call: LoopCall, attempt: int, ctx: StepContext) -> CallOutcome:
    """Make one attempt of one call of a looping step; a failure is classified under the call's policy."""
    started = time.perf_counter()
    try:
        made = await executor.loop_call(call, ctx)
    except Exception as error:
        failure = classify(error, executor.call_retry(call))
        after = failure.retry_after
        failed = CallOutcome(
            key=call.key,
            kind=call.kind,
            name=call.name,
            attempt=attempt,
            ok=False,
            error=RunError(executor_id=executor.id, type=type(error).__name__, message=str(error)),
            retryable=failure.retryable,
            retry_after_ms=after.total_seconds() * 1000 if after is not None else None,
            duration_ms=(time.perf_counter() - started) * 1000,
            shown=executor.describe_call(call),
        )
        failed._raised = error
        return failed
    return CallOutcome(
        key=call.key,
        kind=call.kind,
        name=call.name,
        attempt=attempt,
        ok=True,
        value=made.value,
        duration_ms=(time.perf_counter() - started) * 1000,
        shown=made.shown,
    )
