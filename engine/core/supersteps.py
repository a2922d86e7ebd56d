"""Superstep semantics shared by both runners: what a superstep runs, step keys, the superstep limit.

The runners differ only in *how* they run a step (a coroutine or an activity); what a superstep contains
is decided here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from engine.core.approval import Approval
from engine.core.graph import FanIn, Map, Workflow
from engine.core.mapping import ItemFailed
from engine.core.routing import Delivery, Emission, FanInBuffers
from engine.core.run_state import RunError


@dataclass(frozen=True, slots=True)
class Step:
    """One executor invocation of a superstep."""

    delivery: Delivery
    ordinal: int

    @property
    def executor_id(self) -> str:
        """The executor this step runs."""
        return self.delivery.target


@dataclass(frozen=True, slots=True)
class SuperstepPlan:
    """What a superstep runs: its steps, and the approvals it opens (each with its ordinal)."""

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
    """The error of a run that reached ``max_supersteps`` with messages pending, naming where they wait."""
    waiting = sorted({d.target for d in pending})
    return RunError(
        type="MaxSuperstepsExceeded",
        message=(
            f"workflow {workflow.name!r} exceeded max_supersteps={workflow.max_supersteps} "
            f"with messages still pending for {waiting}; a loop without a reachable exit? "
            "Raise max_supersteps in WorkflowBuilder if the loop is meant to run longer."
        ),
    )


def item_failure(workflow: Workflow, step: Step, error: RunError) -> Emission | None:
    """What a step that failed for good becomes: in a map that collects item errors, an ``ItemFailed`` in
    the item's place; otherwise nothing, and the run fails."""
    item = step.delivery.item
    group = workflow.map_of(step.executor_id) if item is not None else None
    if item is None or group is None or group.on_item_error != "collect":
        return None
    return Emission(step.executor_id, ItemFailed(index=item.index, error=error), item)


def parallel_limits(workflow: Workflow) -> dict[str, int]:
    """How many steps of a node may execute at once in a superstep (a map's ``max_parallel``), for the
    nodes that have a limit."""
    return {
        g.target: g.max_parallel for g in workflow.groups if isinstance(g, Map) and g.max_parallel is not None
    }


def incomplete_fan_in(workflow: Workflow, buffers: FanInBuffers) -> RunError | None:
    """Why a run that has nothing left to do must not count as completed: a fan-in still waits for a
    source that never delivered (it returned None, or a condition sent its message elsewhere), so what
    the others sent would be dropped without a word."""
    fan_ins = [g for g in workflow.groups if isinstance(g, FanIn)]
    for index, group in sorted(buffers.waiting.items()):
        delivered = [source for source, queue in group.items() if queue]
        if not delivered:
            continue
        fan_in = fan_ins[index]
        missing = [source for source in fan_in.sources if not group.get(source)]
        return RunError(
            executor_id=fan_in.target,
            type="FanInIncomplete",
            message=f"the fan-in into {fan_in.target!r} never received a message from {missing} (it has "
            f"messages from {delivered}), so {fan_in.target!r} never ran; a source that returns None sends "
            "nothing",
        )
    return None
