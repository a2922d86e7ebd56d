"""Mermaid rendering of a workflow graph, optionally coloured by each node's state in a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.core.approval import Approval
from engine.core.executor import Executor, Node
from engine.core.graph import Edge, FanIn, FanOut, Map, Switch

if TYPE_CHECKING:
    from engine.core.graph import Workflow

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
        lines += _mermaid_arrows(group)
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


def _mermaid_arrows(group: Any) -> list[str]:
    """The arrows one edge group draws."""
    if isinstance(group, Edge):
        if group.condition is None:
            return [f"    {group.source} --> {group.target}"]
        return [f'    {group.source} -. "{_label(group.condition)}" .-> {group.target}']
    if isinstance(group, FanOut):
        return [f'    {group.source} == "fan-out" ==> {t}' for t in group.targets]
    if isinstance(group, FanIn):
        return [f'    {s} == "fan-in" ==> {group.target}' for s in group.sources]
    if isinstance(group, Switch):
        lines = [
            f'    {group.source} -. "{_label(predicate)}" .-> {target}' for predicate, target in group.cases
        ]
        if group.default is not None:
            lines.append(f'    {group.source} -. "default" .-> {group.default}')
        return lines
    if isinstance(group, Map):
        return [
            f'    {group.source} == "map: each item" ==> {group.target}',
            f'    {group.target} == "collect" ==> {group.collect}',
        ]
    return []


# --- graph description for the dashboard ----------------------------------------------------------


def _node_kind(node: Node) -> str:
    return node.kind  # executor, approval, or agent: each node class says what it is


def graph_edges(workflow: Workflow) -> list[dict[str, str]]:
    """Every edge of the graph as ``{source, target, kind, label}``, in declaration order.

    ``kind`` is plain, conditional, fan-out, fan-in, switch, map, collect or escalation (an approval's
    timeout).
    """
    edges: list[dict[str, str]] = []

    def add(source: str, target: str, kind: str, label: str = "") -> None:
        edges.append({"source": source, "target": target, "kind": kind, "label": label})

    for group in workflow.groups:
        if isinstance(group, Edge):
            if group.condition is None:
                add(group.source, group.target, "plain")
            else:
                add(group.source, group.target, "conditional", _label(group.condition))
        elif isinstance(group, FanOut):
            for target in group.targets:
                add(group.source, target, "fan-out", "fan-out")
        elif isinstance(group, FanIn):
            for source in group.sources:
                add(source, group.target, "fan-in", "fan-in")
        elif isinstance(group, Switch):
            for predicate, target in group.cases:
                add(group.source, target, "switch", _label(predicate))
            if group.default is not None:
                add(group.source, group.default, "switch", "default")
        elif isinstance(group, Map):
            limit = f" (≤{group.max_parallel} at once)" if group.max_parallel else ""
            add(group.source, group.target, "map", f"each item{limit}")
            add(group.target, group.collect, "collect", "collect")
    for node in workflow.approvals():
        if node.on_timeout.escalate_to:
            add(node.id, node.on_timeout.escalate_to, "escalation", "timeout: escalate")
    return edges


def _back_edges(start: str, nodes: list[str], edges: list[dict[str, str]]) -> set[int]:
    """Indexes of the edges that close a cycle (found by depth-first search from the start)."""
    out: dict[str, list[tuple[int, str]]] = {n: [] for n in nodes}
    for i, e in enumerate(edges):
        out[e["source"]].append((i, e["target"]))
    back: set[int] = set()
    state: dict[str, int] = {}  # 1 on the stack, 2 finished
    for root in [start, *nodes]:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, i = stack[-1]
            if i >= len(out[node]):
                state[node] = 2
                stack.pop()
                continue
            stack[-1] = (node, i + 1)
            index, target = out[node][i]
            if state.get(target) == 1:
                back.add(index)
            elif target not in state:
                state[target] = 1
                stack.append((target, 0))
    return back


def graph_layout(
    workflow: Workflow, edges: list[dict[str, str]]
) -> tuple[dict[str, int], dict[str, int], set[int]]:
    """A layered layout: (layer of each node, its order within the layer, indexes of back edges).

    Longest-path layering over the graph without its back edges (loops are drawn as back edges), then a
    few barycentre sweeps to reduce crossings. Deterministic: same workflow, same picture.
    """
    nodes = list(workflow.nodes)
    back = _back_edges(workflow.start, nodes, edges)
    forward = [
        (e["source"], e["target"])
        for i, e in enumerate(edges)
        if i not in back and e["source"] != e["target"]
    ]
    preds: dict[str, set[str]] = {n: set() for n in nodes}
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for s, t in forward:
        if s not in preds[t]:
            preds[t].add(s)
            succs[s].append(t)
    layer = _longest_path_layers(nodes, preds, succs)
    layers: dict[int, list[str]] = {}
    for n in nodes:  # declaration order first: a stable starting point
        layers.setdefault(layer[n], []).append(n)
    position = {n: i for members in layers.values() for i, n in enumerate(members)}
    for sweep in range(4):
        down = sweep % 2 == 0
        neighbours = preds if down else {n: set(succs[n]) for n in nodes}
        for depth in sorted(layers, reverse=not down):
            _order_by_barycentre(layers[depth], neighbours, layer, position)
    return layer, position, back


def _longest_path_layers(
    nodes: list[str], preds: dict[str, set[str]], succs: dict[str, list[str]]
) -> dict[str, int]:
    """Each node's layer: the length of the longest forward path to it."""
    indegree = {n: len(preds[n]) for n in nodes}
    ready = [n for n in nodes if indegree[n] == 0]
    layer: dict[str, int] = dict.fromkeys(nodes, 0)
    while ready:
        node = ready.pop(0)
        for nxt in succs[node]:
            layer[nxt] = max(layer[nxt], layer[node] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return layer


def _order_by_barycentre(
    members: list[str], neighbours: dict[str, set[str]], layer: dict[str, int], position: dict[str, int]
) -> None:
    """One layer sorted by the mean position of each node's neighbours in other layers (in place)."""
    keys = {}
    for i, n in enumerate(members):
        around = [position[m] for m in neighbours[n] if layer[m] != layer[n]]
        keys[n] = (sum(around) / len(around) if around else float(i), i)
    members.sort(key=keys.__getitem__)
    for i, n in enumerate(members):
        position[n] = i


def to_graph_json(workflow: Workflow) -> dict[str, Any]:
    """The graph as JSON for drawing: nodes with a layered layout, and typed, labelled edges.

    ``{"nodes": [{id, kind, start, sink, layer, order, description, max_attempts}], "edges": [{source,
    target, kind, label, back}], "layers": n}``; ``kind`` of a node is executor, agent, approval or
    workflow (a sub-workflow, whose id is the child workflow's name); ``max_attempts`` (executors and
    agents) is what their retry policy allows.
    """
    edges = graph_edges(workflow)
    layer, order, back = graph_layout(workflow, edges)
    sinks = workflow.sinks()
    nodes = []
    for node in workflow.nodes.values():
        entry: dict[str, Any] = {
            "id": node.id,
            "kind": _node_kind(node),
            "start": node.id == workflow.start,
            "sink": node.id in sinks,
            "layer": layer[node.id],
            "order": order[node.id],
            "description": _describe(node),
        }
        if isinstance(node, Approval):
            entry["timeout_seconds"] = node.timeout.total_seconds() if node.timeout else None
        if isinstance(node, Executor):  # so a view can say "attempt 1 of 3"
            entry["max_attempts"] = node.retry.max_attempts if node.retry is not None else 1
        nodes.append(entry)
    return {
        "nodes": nodes,
        "edges": [{**e, "back": i in back} for i, e in enumerate(edges)],
        "layers": max(layer.values(), default=0) + 1,
    }


def _describe(node: object) -> str:
    text = getattr(node, "description", None) or ""
    return " ".join(str(text).split())[:300]
