"""A built workflow used as a node of another: a sub-workflow.

It takes what its start node takes. It emits its run's last output (outputs come in production order);
a run that produces no output sends nothing. Its output type is therefore what its sinks emit: one sink's
type, or the union of several sinks' types. In memory the child runs nested; durably it is a Durable
Functions sub-orchestration with an instance id derived from the parent's id and the step, so replays
find it again, and it is pinned to its own version like any run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Union

from engine.core.executor import Node
from engine.core.typecheck import sendable

if TYPE_CHECKING:
    from engine.core.graph import Workflow


class SubWorkflow(Node):
    """``workflow`` as one node of a parent graph (the builder wraps a ``Workflow`` in one)."""

    kind: ClassVar[str] = "workflow"

    def __init__(self, workflow: Workflow) -> None:
        self.id = workflow.name
        self.workflow = workflow
        self.description = workflow.description
        self._init_types(workflow.input_type, output_type_of(workflow))


def output_type_of(workflow: Workflow) -> Any:
    """What a workflow emits as a sub-workflow: its sinks' output types (a union when they differ)."""
    kinds: list[Any] = []
    for sink in sorted(workflow.sinks()):
        produced = sendable(workflow.nodes[sink].output_type)
        if produced is not None and produced not in kinds:
            kinds.append(produced)
    if not kinds:
        return None
    return kinds[0] if len(kinds) == 1 else Union[tuple(kinds)]  # noqa: UP007 - built at run time


def child_instance_id(parent: str, node_id: str, superstep: int, ordinal: int) -> str:
    """The sub-workflow run of one step of a parent run: the same on every replay, distinct per step."""
    return f"{parent}:{node_id}:{superstep}:{ordinal}"


def with_subworkflows(workflows: Iterable[Workflow]) -> list[Workflow]:
    """``workflows`` and, after them, every workflow used inside one as a sub-workflow (recursively),
    each once: an app serves them all, so a child run has its orchestrator and its own routes."""
    listed: list[Workflow] = list(workflows)
    seen = {(w.name, w.version) for w in listed}
    frontier = list(listed)
    while frontier:
        for node in frontier.pop(0).nodes.values():
            if isinstance(node, SubWorkflow) and (node.workflow.name, node.workflow.version) not in seen:
                seen.add((node.workflow.name, node.workflow.version))
                listed.append(node.workflow)
                frontier.append(node.workflow)
    return listed
