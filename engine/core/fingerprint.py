"""A workflow's structural fingerprint: what a run's history depends on, hashed.

Two builds of a workflow have the same fingerprint exactly when they have the same nodes (ids, kinds,
input and output type schemas), the same edges in the same order (with the names of their conditions),
the same approval settings (an agent's questions before a tool included), start node and
``max_supersteps``. A run replays correctly only on a graph
with the fingerprint it started on; the version label defaults to it.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from engine.core.approval import Approval
from engine.core.step_loop import LoopExecutor
from engine.core.typecheck import type_name

if TYPE_CHECKING:
    from engine.core.executor import Node
    from engine.core.graph import EdgeGroup

LENGTH = 16


def _schema(adapter: TypeAdapter[Any], tp: Any) -> Any:
    try:
        return adapter.json_schema()
    except Exception:  # a type without a JSON schema still has a name
        return {"type-name": type_name(tp)}


def _condition(fn: Any) -> str | None:
    if fn is None:
        return None
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"


def _node(node: Node) -> dict[str, Any]:
    described: dict[str, Any] = {
        "id": node.id,
        "kind": node.kind,
        "input": _schema(node.input_adapter, node.input_type),
        "output": _schema(node.output_adapter, node.output_type),
    }
    child = getattr(node, "workflow", None)
    if child is not None:  # a sub-workflow: the parent's runs depend on the child's graph too
        described["workflow"] = {
            "name": child.name,
            "version": child.version,
            "fingerprint": child.fingerprint,
        }
    if isinstance(node, Approval):
        described["approval"] = _approval(node)
    if isinstance(node, LoopExecutor):
        # Its steps run as orchestrations of their own, each call an activity (a run recorded before that
        # has the step as one activity), and ask these people before a call.
        asks = node.step_approvals()
        described["loop"] = {"asks": {a: _approval(asks[a]) for a in sorted(asks)}}
    return described


def _approval(node: Approval[Any, Any]) -> dict[str, Any]:
    return {
        "response": _schema(node.response_adapter, node.response_type),
        "timeout_s": node.timeout.total_seconds() if node.timeout is not None else None,
        "on_timeout": node.on_timeout.model_dump(mode="json"),
        "approvers": node.approvers,
    }


def _group(group: EdgeGroup) -> dict[str, Any]:
    described: dict[str, Any] = {"kind": type(group).__name__}
    for name in ("source", "sources", "target", "targets", "default"):
        if hasattr(group, name):
            described[name] = getattr(group, name)
    if hasattr(group, "condition"):
        described["condition"] = _condition(group.condition)
    if hasattr(group, "collect"):  # a map
        described["collect"] = group.collect
        described["items"] = _condition(group.items)
        described["max_parallel"] = group.max_parallel
        described["on_item_error"] = group.on_item_error
        described["partition_size"] = group.partition_size
    if hasattr(group, "cases"):
        described["cases"] = [[_condition(fn), target] for fn, target in group.cases]
    return described


def fingerprint(
    *, start: str, nodes: dict[str, Node], groups: tuple[EdgeGroup, ...], max_supersteps: int
) -> str:
    """The structural fingerprint of a graph made of these parts: a short hash of their JSON shape."""
    shape = {
        "start": start,
        "max_supersteps": max_supersteps,
        "nodes": [_node(nodes[node_id]) for node_id in sorted(nodes)],
        "edges": [_group(g) for g in groups],
    }
    text = json.dumps(shape, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:LENGTH]
