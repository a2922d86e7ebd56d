"""Superstep semantics shared by both runners: what a superstep runs, step keys, the superstep limit.

The runners differ only in *how* they run a step (a coroutine or an activity); what a superstep contains
is decided here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from engine.core.approval import Approval
from engine.core.graph import Workflow
from engine.core.routing import Delivery
from engine.core.run_state import RunError


@dataclass(frozen=True, slots=True)
class Step:
    """One executor invocation of a superstep."""

    delivery: Delivery
    ordinal: int

    @property
    def executor_id(self) -> str:
        return self.delivery.target


@dataclass(frozen=True, slots=True)
class SuperstepPlan:
    steps: list[Step]
    approvals: list[tuple[Delivery, int]]


def plan_superstep(workflow: Workflow, deliveries: list[Delivery]) -> SuperstepPlan:
    """Split deliveries into executor steps and approval requests, numbering repeats of one node."""
    steps: list[Step] = []
    approvals: list[tuple[Delivery, int]] = []
    seen: dict[str, int] = {}
    for delivery in deliveries:
        ordinal = seen.get(delivery.target, 0)
        seen[delivery.target] = ordinal + 1
        if isinstance(workflow.nodes[delivery.target], Approval):
            approvals.append((delivery, ordinal))
        else:
            steps.append(Step(delivery, ordinal))
    return SuperstepPlan(steps, approvals)


def idempotency_key(workflow: str, instance_id: str, superstep: int, executor_id: str, ordinal: int) -> str:
    """Stable for one step of one run across retries and replays, distinct for every other step."""
    raw = f"{workflow}\x1f{instance_id}\x1f{superstep}\x1f{executor_id}\x1f{ordinal}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def superstep_limit_error(workflow: Workflow, pending: list[Delivery]) -> RunError:
    waiting = sorted({d.target for d in pending})
    return RunError(
        type="MaxSuperstepsExceeded",
        message=(
            f"workflow {workflow.name!r} exceeded max_supersteps={workflow.max_supersteps} "
            f"with messages still pending for {waiting}; a loop without a reachable exit? "
            "Raise max_supersteps in WorkflowBuilder if the loop is meant to run longer."
        ),
    )
