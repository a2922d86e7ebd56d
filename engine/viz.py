"""Mermaid rendering of a workflow graph, optionally coloured by each node's state in a run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.approval import Approval
from engine.graph import Edge, FanIn, FanOut, Switch

if TYPE_CHECKING:
    from engine.graph import Workflow

STATE_STYLES = {
    "pending": "fill:#f4f4f5,stroke:#a1a1aa,color:#3f3f46",
    "running": "fill:#dbeafe,stroke:#2563eb,color:#1e3a8a",
    "done": "fill:#dcfce7,stroke:#16a34a,color:#14532d",
    "failed": "fill:#fee2e2,stroke:#dc2626,color:#7f1d1d",
    "waiting": "fill:#fef3c7,stroke:#d97706,color:#78350f",
}


def _label(fn: object) -> str:
    name = getattr(fn, "__name__", "condition")
    return "when" if name == "<lambda>" else name


def to_mermaid(workflow: Workflow, states: dict[str, str] | None = None) -> str:
    """``flowchart TD`` text: approvals as hexagons, fan-out/fan-in as thick arrows, conditions labelled."""
    lines = ["flowchart TD"]
    for node in workflow.nodes.values():
        title = f"{node.id}"
        if isinstance(node, Approval):
            lines.append(f'    {node.id}{{{{"✋ {title}"}}}}')
        elif node.id == workflow.start:
            lines.append(f'    {node.id}(["{title}"])')
        else:
            lines.append(f'    {node.id}["{title}"]')
    for group in workflow.groups:
        if isinstance(group, Edge):
            if group.condition is None:
                lines.append(f"    {group.source} --> {group.target}")
            else:
                lines.append(f'    {group.source} -. "{_label(group.condition)}" .-> {group.target}')
        elif isinstance(group, FanOut):
            lines += [f'    {group.source} == "fan-out" ==> {t}' for t in group.targets]
        elif isinstance(group, FanIn):
            lines += [f'    {s} == "fan-in" ==> {group.target}' for s in group.sources]
        elif isinstance(group, Switch):
            for predicate, target in group.cases:
                lines.append(f'    {group.source} -. "{_label(predicate)}" .-> {target}')
            if group.default is not None:
                lines.append(f'    {group.source} -. "default" .-> {group.default}')
    for node in workflow.approvals():
        if node.on_timeout.escalate_to:
            lines.append(f'    {node.id} -. "timeout: escalate" .-> {node.on_timeout.escalate_to}')
    if states:
        for state, style in STATE_STYLES.items():
            members = [n for n, s in states.items() if s == state and n in workflow.nodes]
            if members:
                lines.append(f"    classDef {state} {style}")
                lines.append(f"    class {','.join(members)} {state}")
    return "\n".join(lines)
