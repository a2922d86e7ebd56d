"""Durable agent workflows: typed executors wired into graphs, run in memory or on Durable Functions."""

from __future__ import annotations

from engine.approval import (
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
from engine.clock import Clock, ManualClock, SystemClock
from engine.events import RunEvent
from engine.graph import Case, Workflow, WorkflowBuilder, WorkflowValidationError
from engine.inmemory import ApprovalResponseError, InMemoryRunner, RunResult
from engine.model import Executor, NonRetryableError, RetryPolicy, StepContext, TransientError, executor
from engine.run_state import PendingApproval, RunError, RunState

__all__ = [
    "Approval",
    "ApprovalDecision",
    "ApprovalOutcome",
    "ApprovalResponseError",
    "Case",
    "Clock",
    "Executor",
    "InMemoryRunner",
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
    "WorkflowBuilder",
    "WorkflowValidationError",
    "escalate_to",
    "executor",
    "fail_run",
    "respond_with",
    "was_approved",
    "was_rejected",
]
