"""Whether a failed step attempt is retried, as the views say it: the question the orchestrator asked
(``engine.core.retry.retry_delay``), asked again of the attempt's recorded result, so a view never calls an
attempt that another follows the step's failure."""

from __future__ import annotations

from datetime import timedelta

from engine.core.executor import Executor
from engine.core.graph import Workflow
from engine.core.retry import FailureKind, retry_delay
from engine.durable.step_messages import StepResult


def will_retry(workflow: Workflow, executor: str, result: StepResult, attempt: int) -> bool:
    """Whether another attempt follows this failed one (False for a node that is not an executor)."""
    node = workflow.nodes.get(executor)
    if not isinstance(node, Executor):
        return False
    after = timedelta(milliseconds=result.retry_after_ms) if result.retry_after_ms is not None else None
    return retry_delay(node.retry, FailureKind(result.retryable, after), attempt) is not None


def max_attempts(workflow: Workflow, executor: str) -> int | None:
    """The attempts the step's retry policy allows (1 without one); None for a node that is no executor."""
    node = workflow.nodes.get(executor)
    if not isinstance(node, Executor):
        return None
    return node.retry.max_attempts if node.retry is not None else 1


__all__ = ["max_attempts", "will_retry"]
