"""Durable agent workflows: typed executors wired into graphs, run in memory or on Durable Functions.

The public surface. The layers underneath import one way only:
``engine.core`` (model and routing) <- ``engine.inmemory`` / ``engine.durable`` (runners) <-
``engine.functions`` (the Functions app); ``engine.agents`` builds on ``engine.core``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.core.approval import (
    Approval,
    ApprovalDecision,
    ApprovalOutcome,
    OnTimeout,
    escalate_to,
    fail_run,
    respond_with,
    was_approved,
    was_rejected,
)
from engine.core.clock import Clock, ManualClock, SystemClock
from engine.core.events import RunEvent
from engine.core.executor import Executor, StepContext, executor
from engine.core.graph import Case, Workflow, WorkflowBuilder, WorkflowValidationError
from engine.core.mapping import ItemFailed
from engine.core.retry import NonRetryableError, RetryPolicy, TransientError
from engine.core.run_state import PendingApproval, RunError, RunState
from engine.inmemory import ApprovalResponseError, InMemoryRunner, RunResult

if TYPE_CHECKING:
    from engine.functions.app import WorkflowApp


def __getattr__(name: str) -> Any:
    # The Functions app layer pulls in the Azure SDKs: loaded only when asked for, so in-memory use
    # (tests, the CLI) does not pay for it.
    if name == "WorkflowApp":
        from engine.functions.app import WorkflowApp

        return WorkflowApp
    raise AttributeError(f"module 'engine' has no attribute {name!r}")


__all__ = [
    "Approval",
    "ApprovalDecision",
    "ApprovalOutcome",
    "ApprovalResponseError",
    "Case",
    "Clock",
    "Executor",
    "InMemoryRunner",
    "ItemFailed",
    "ManualClock",
    "NonRetryableError",
    "OnTimeout",
    "PendingApproval",
    "RetryPolicy",
    "RunError",
    "RunEvent",
    "RunResult",
    "RunState",
    "StepContext",
    "SystemClock",
    "TransientError",
    "Workflow",
    "WorkflowApp",
    "WorkflowBuilder",
    "WorkflowValidationError",
    "escalate_to",
    "executor",
    "fail_run",
    "respond_with",
    "was_approved",
    "was_rejected",
]
