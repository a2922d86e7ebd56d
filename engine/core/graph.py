"""Workflow graphs: the fluent builder, the edge kinds, and the immutable, validated ``Workflow``."""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, get_type_hints

from engine.core.app_settings import count_setting
from engine.core.approval import Approval
from engine.core.executor import Node
from engine.core.fingerprint import fingerprint
from engine.core.step_loop import LoopExecutor
from engine.core.typecheck import compatible, list_item_type, sendable, type_name

MAX_MAP_ITEMS = "WORKFLOW_MAX_MAP_ITEMS"
MAP_PARTITION_SIZE = "WORKFLOW_MAP_PARTITION_SIZE"
# No orchestration history should pass 3,000 events; a margin is left for the episodes' own events.
HISTORY_BUDGET = 2_800
MAX_PARTITION = 1_000
APPROVAL_PARTITION = 100


def safe_partition_size(target: Node | None) -> int:
    """The most items one partition may run while its history stays under ``HISTORY_BUDGET`` events in
    the worst case: every attempt of every item, each in an episode of its own (4 events: scheduled,
    completed, and the episode's start and end), twice that when each attempt also races a timeout.

    Approvals per item are bounded by replay time before history: each answer is an episode that replays
    the partition's whole history (up to 6 events per request: the answer's event, the signature check,
    the episode's start and end), so a partition's replays grow with the square of its requests.
    ``APPROVAL_PARTITION`` requests keep a partition's replays to seconds of CPU all told (at 350, which
    the history bound would allow, a 400-request map took several times longer to answer on devhost)."""
    if isinstance(target, Approval):
        return APPROVAL_PARTITION
    attempts = 1
    timed = False
    retry = getattr(target, "retry", None)
    if retry is not None:
        attempts = retry.max_attempts
    timed = getattr(target, "step_timeout", None) is not None
    per_item = 4 * attempts * (2 if timed else 1)
    return max(1, min(MAX_PARTITION, HISTORY_BUDGET // per_item))


DEFAULT_MAX_MAP_ITEMS = 10_000
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
Condition: TypeAlias = Callable[[Any], bool]
NodeRef: TypeAlias = "Node | str | Workflow"


class WorkflowValidationError(ValueError):
    """A workflow that cannot be built; the message names the executors and types involved."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class Edge:
    """``source`` → ``target``, optionally only when ``condition(message)`` holds."""

    source: str
    target: str
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class FanOut:
    """``source`` → every one of ``targets``, the same message to each."""

    source: str
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FanIn:
    """every one of ``sources`` → ``target``, which receives ``list`` of their messages in source order."""

    sources: tuple[str, ...]
    target: str


@dataclass(frozen=True, slots=True)
class Case:
    """One branch of a switch: the first case whose ``predicate`` holds wins."""

    predicate: Condition
    target: NodeRef


@dataclass(frozen=True, slots=True)
class Switch:
    """``source`` → the target of the first case whose condition holds, else ``default`` (if any)."""

    source: str
    cases: tuple[tuple[Condition, str], ...]
    default: str | None


ItemErrors: TypeAlias = Literal["fail", "collect"]


@dataclass(frozen=True, slots=True)
class Map:
    """``source`` emits a list (or ``items`` selects one from its output); ``target`` runs once per item,
    concurrently (at most ``max_parallel`` at once); ``collect`` receives the items' outputs as a list,
    in item order. ``on_item_error``: an item that fails for good fails the run (``"fail"``) or is
    handed to ``collect`` as an ``ItemFailed`` in its place (``"collect"``)."""

    source: str
    target: str
    collect: str
    items: Callable[[Any], Any] | None = None
    max_parallel: int | None = None
    on_item_error: ItemErrors = "fail"
    # Lists longer than this fail the run, naming the limit (not part of the fingerprint: a deploy may
    # raise it under runs in flight).
    max_items: int = 10_000
    # Durably, more items than this run in partitions (sub-orchestrations) of at most this many, so no
    # history outgrows a bounded size. Part of the fingerprint: a run's partitions must replay alike.
    partition_size: int = 0


EdgeGroup: TypeAlias = Edge | FanOut | FanIn | Switch | Map


@dataclass(frozen=True, slots=True)
class Workflow:
    """An immutable, validated graph. Build one with ``WorkflowBuilder``."""

    name: str
    description: str
    start: str
    nodes: MappingProxyType[str, Node]
    groups: tuple[EdgeGroup, ...]
    max_supersteps: int
    version: str = ""
    fingerprint: str = ""

    @property
    def start_node(self) -> Node:
        """The node a run's input is delivered to."""
        return self.nodes[self.start]

    @property
    def input_type(self) -> Any:
        """The type the workflow's input must have (the start node's input type)."""
        return self.start_node.input_type

    def input_schema(self) -> dict[str, Any]:
        """The JSON schema of the workflow's input."""
        return self.start_node.input_adapter.json_schema()

    def validate_input(self, data: Any) -> Any:
        """Validate raw (JSON-shaped) input for the start executor; raises pydantic's ValidationError."""
        return self.start_node.input_adapter.validate_python(data)

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError when there is none)."""
        return self.nodes[node_id]

    def approvals(self) -> list[Approval[Any, Any]]:
        """The workflow's approval nodes."""
        return [n for n in self.nodes.values() if isinstance(n, Approval)]

    def every_approval(self) -> list[Approval[Any, Any]]:
        """The approval nodes, then the approvals looping steps ask before a call (``<step>.<tool>``)."""
        asked = [
            a for n in self.nodes.values() if isinstance(n, LoopExecutor) for a in n.step_approvals().values()
        ]
        return self.approvals() + asked

    def approval(self, approval_id: str) -> Approval[Any, Any]:
        """The approval ``approval_id`` names: a node of the graph, or one a looping step asks before a
        call (``LoopExecutor.step_approvals``, whose ids are ``<step>.<...>``). Raises KeyError."""
        node = self.nodes.get(approval_id)
        if isinstance(node, Approval):
            return node
        owner = self.nodes.get(approval_id.split(".", 1)[0])
        if isinstance(owner, LoopExecutor):
            found = owner.step_approvals().get(approval_id)
            if found is not None:
                return found
        raise KeyError(approval_id)

    def approval_owner(self, approval_id: str) -> str:
        """The node that asks ``approval_id``: the approval node itself, or the looping step."""
        return approval_id if approval_id in self.nodes else approval_id.split(".", 1)[0]

    def sinks(self) -> frozenset[str]:
        """Nodes with no outgoing edge: what they emit is the run's output."""
        return frozenset(self.nodes) - {s for g in self.groups for s in _sources(g)}

    def map_of(self, target: str) -> Map | None:
        """The map whose per-item node ``target`` is, if it is one."""
        return next((g for g in self.groups if isinstance(g, Map) and g.target == target), None)

    def to_mermaid(self, states: dict[str, str] | None = None) -> str:
        """The graph as Mermaid flowchart text; ``states`` colours nodes by their state in a run."""
        from engine.core.viz import to_mermaid

        return to_mermaid(self, states)


def _sources(group: EdgeGroup) -> tuple[str, ...]:
    if isinstance(group, Map):
        return (group.source, group.target)
    return group.sources if isinstance(group, FanIn) else (group.source,)


def _targets(group: EdgeGroup) -> tuple[str, ...]:
    if isinstance(group, Map):
        return (group.target, group.collect)
    if isinstance(group, Edge):
        return (group.target,)
    if isinstance(group, FanOut):
        return group.targets
    if isinstance(group, FanIn):
        return (group.target,)
    targets = tuple(t for _, t in group.cases)
    return (*targets, group.default) if group.default is not None else targets


class WorkflowBuilder:
    """Wire executors into a graph, fluently, then ``build()`` a validated ``Workflow``.

    >>> wf = (WorkflowBuilder("greet", start=parse).add_chain([parse, greet]).build())
    """

    def __init__(
        self,
        name: str,
        *,
        start: Node,
        max_supersteps: int = 100,
        description: str = "",
        version: str | None = None,
    ) -> None:
        """``version``: a label for this graph (``"3"``, ``"2026-11-30"``); by default one derived from
        the structural fingerprint, so any change to the graph is a new version."""
        self._name = name
        self._version = version
        self._description = description
        self._max_supersteps = max_supersteps
        self._nodes: dict[str, Node] = {}
        self._subworkflows: dict[int, Node] = {}  # one node per Workflow object, however often named
        self._problems: list[str] = []
        self._groups: list[EdgeGroup] = []
        self._start = self._register(start)

    def add_edge(self, source: NodeRef, target: NodeRef, *, when: Condition | None = None) -> WorkflowBuilder:
        """``source`` → ``target``; with ``when``, only for messages the condition accepts."""
        source_id, target_id = self._register(source), self._register(target)
        self._groups.append(Edge(source_id, target_id, self._condition(when, source_id, target_id)))
        return self

    def add_chain(self, nodes: Sequence[NodeRef]) -> WorkflowBuilder:
        """An edge from each node to the next, in the order given."""
        ids = [self._register(n) for n in nodes]
        for a, b in itertools.pairwise(ids):
            self._groups.append(Edge(a, b))
        return self

    def add_fan_out(self, source: NodeRef, targets: Iterable[NodeRef]) -> WorkflowBuilder:
        """``source`` → each of ``targets``, the same message to every one."""
        self._groups.append(FanOut(self._register(source), tuple(self._register(t) for t in targets)))
        return self

    def add_fan_in(self, sources: Iterable[NodeRef], target: NodeRef) -> WorkflowBuilder:
        """Every one of ``sources`` → ``target``, which runs once all of them have delivered, with their
        messages as a list in source order."""
        self._groups.append(FanIn(tuple(self._register(s) for s in sources), self._register(target)))
        return self

    def add_switch(
        self, source: NodeRef, cases: Sequence[Case], *, default: NodeRef | None = None
    ) -> WorkflowBuilder:
        """``source`` → the target of the first case whose predicate holds, or ``default`` when none does."""
        source_id = self._register(source)
        targets = [self._register(c.target) for c in cases]
        resolved = tuple(
            (self._condition(c.predicate, source_id, t), t) for c, t in zip(cases, targets, strict=True)
        )
        default_id = self._register(default) if default is not None else None
        self._groups.append(Switch(source_id, resolved, default_id))  # type: ignore[arg-type]
        return self

    def add_map(
        self,
        source: NodeRef,
        target: NodeRef,
        *,
        collect: NodeRef,
        items: Callable[[Any], Any] | None = None,
        max_parallel: int | None = None,
        on_item_error: ItemErrors = "fail",
        max_items: int | None = None,
        partition_size: int | None = None,
    ) -> WorkflowBuilder:
        """Run ``target`` once per item of the list ``source`` emits (or that ``items(output)`` selects),
        concurrently; ``collect`` receives their outputs as a list in item order (``[]`` for no items).

        ``max_parallel`` bounds how many item steps execute at once (an item waiting for a person holds
        no slot). ``on_item_error="collect"`` hands ``collect`` an ``ItemFailed`` for an item that failed
        for good instead of failing the run. A list longer than ``max_items`` (default: the
        ``WORKFLOW_MAX_MAP_ITEMS`` app setting, else 10,000) fails the run with an error naming the limit.
        Durably, more than ``partition_size`` items run in partitions of that size, each a
        sub-orchestration (default: the ``WORKFLOW_MAP_PARTITION_SIZE`` app setting, else the largest
        size whose worst-case history, every retry included, stays under 3,000 events).
        """
        source_id, target_id = self._register(source), self._register(target)
        collect_id = self._register(collect)
        if max_parallel is not None and (not isinstance(max_parallel, int) or max_parallel < 1):
            self._problems.append(f"map {source_id!r} -> {target_id!r}: max_parallel must be at least 1")
        if on_item_error not in ("fail", "collect"):
            self._problems.append(
                f"map {source_id!r} -> {target_id!r}: on_item_error must be 'fail' or 'collect', "
                f"not {on_item_error!r}"
            )
        if items is not None and not callable(items):
            raise TypeError(f"items= must be a function of the source's output, got {items!r}")
        try:
            limit = count_setting(MAX_MAP_ITEMS, DEFAULT_MAX_MAP_ITEMS) if max_items is None else max_items
        except ValueError as exc:
            self._problems.append(str(exc))
            limit = DEFAULT_MAX_MAP_ITEMS
        if not isinstance(limit, int) or limit < 1:
            self._problems.append(f"map {source_id!r} -> {target_id!r}: max_items must be at least 1")
        if partition_size is None:
            try:
                partition_size = count_setting(MAP_PARTITION_SIZE, 0) or None
            except ValueError as exc:
                self._problems.append(str(exc))
        if partition_size is not None and (not isinstance(partition_size, int) or partition_size < 1):
            self._problems.append(f"map {source_id!r} -> {target_id!r}: partition_size must be at least 1")
            partition_size = None
        target_node = self._nodes.get(target_id)
        size = min(partition_size or MAX_PARTITION, safe_partition_size(target_node))
        group = Map(source_id, target_id, collect_id, items, max_parallel, on_item_error, limit, size)
        self._groups.append(group)
        return self

    def build(self) -> Workflow:
        """The validated, immutable ``Workflow``; ``WorkflowValidationError`` lists every problem at once."""
        problems = list(self._problems)
        if not isinstance(self._name, str) or not NAME_PATTERN.fullmatch(self._name):
            problems.append(f"invalid workflow name {self._name!r}: must match {NAME_PATTERN.pattern}")
        if self._max_supersteps < 1:
            problems.append(f"workflow {self._name!r}: max_supersteps must be at least 1")
        if self._version is not None and (
            not isinstance(self._version, str) or not VERSION_PATTERN.fullmatch(self._version)
        ):
            problems.append(
                f"workflow {self._name!r}: invalid version {self._version!r}: 1-64 letters, digits and . _ -"
            )
        problems += self._type_problems()
        problems += self._shape_problems()
        if problems:
            raise WorkflowValidationError(problems)
        nodes = dict(self._nodes)
        groups = tuple(self._groups)
        shape = fingerprint(
            start=self._start, nodes=nodes, groups=groups, max_supersteps=self._max_supersteps
        )
        return Workflow(
            name=self._name,
            description=self._description,
            start=self._start,
            nodes=MappingProxyType(nodes),
            groups=groups,
            max_supersteps=self._max_supersteps,
            version=self._version or f"fp-{shape[:8]}",
            fingerprint=shape,
        )

    def _register(self, node: NodeRef) -> str:
        if isinstance(node, str):
            if node not in self._nodes:
                self._problems.append(f"unknown executor id {node!r}: pass the executor object first")
            return node
        if isinstance(node, Workflow):
            from engine.core.subworkflow import SubWorkflow

            node = self._subworkflows.setdefault(id(node), SubWorkflow(node))
        if not isinstance(node, Node):
            raise TypeError(
                f"expected an executor, an approval or a built Workflow, got {type(node).__name__}"
                + (f" {getattr(node, '__name__', '')!r}" if hasattr(node, "__name__") else "")
                + (": did you mean to call build()?" if isinstance(node, WorkflowBuilder) else "")
            )
        existing = self._nodes.get(node.id)
        if existing is not None and existing is not node:
            self._problems.append(f"duplicate executor id {node.id!r}: two different executors share it")
        elif existing is None:
            if not isinstance(node.id, str) or not NAME_PATTERN.fullmatch(node.id):
                self._problems.append(f"invalid executor id {node.id!r}: must match {NAME_PATTERN.pattern}")
            self._nodes[node.id] = node
        return node.id

    def _condition(self, fn: Condition | None, source: str, target: str) -> Condition | None:
        if fn is None:
            return None
        if not callable(fn):
            raise TypeError(f"a condition must be a function, got {fn!r}")
        if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__):
            name = getattr(fn, "__name__", repr(fn))
            self._problems.append(
                f"condition {name!r} on edge {source!r} -> {target!r} is a coroutine function: "
                "conditions must be plain synchronous "
                "functions of the message (they run inside the deterministic orchestrator)"
            )
        return fn

    def _map_problems(self, group: Map) -> list[str]:
        from engine.core.mapping import ItemFailed

        source, target = self._nodes.get(group.source), self._nodes.get(group.target)
        collect = self._nodes.get(group.collect)
        if source is None or target is None or collect is None:
            return []
        where = f"map {group.source!r} -> {group.target!r} -> {group.collect!r}"
        problems: list[str] = []
        emitted = source.output_type
        if group.items is not None:
            try:
                emitted = get_type_hints(group.items).get("return", Any)
            except Exception:  # an unannotated or unresolvable selector: checked when it runs
                emitted = Any
        item = list_item_type(sendable(emitted)) if sendable(emitted) is not None else None
        if item is None:
            what = f"items={getattr(group.items, '__name__', 'items')} returns" if group.items else "emits"
            problems.append(
                f"{where}: {group.source!r} {what} {type_name(emitted)}, not a list: a map runs "
                f"{group.target!r} once per item of a list"
            )
        elif not compatible(item, target.input_type):
            problems.append(
                f"{where}: {group.source!r} emits list[{type_name(item)}] but {group.target!r} takes "
                f"{type_name(target.input_type)}"
            )
        gathered = list_item_type(collect.input_type)
        if gathered is None:
            problems.append(
                f"{where}: {group.collect!r} takes {type_name(collect.input_type)}, not a list: it receives "
                f"list[...] of {group.target!r}'s outputs"
            )
        else:
            if not compatible(target.output_type, gathered):
                problems.append(
                    f"{where}: {group.target!r} emits {type_name(target.output_type)} but {group.collect!r} "
                    f"takes list[{type_name(gathered)}]"
                )
            if group.on_item_error == "collect" and not compatible(ItemFailed, gathered):
                problems.append(
                    f"{where}: with on_item_error='collect', {group.collect!r} must take ItemFailed in "
                    f"its list (list[{type_name(target.output_type)} | ItemFailed]), not "
                    f"list[{type_name(gathered)}]"
                )
        return problems

    def _type_problems(self) -> list[str]:
        problems: list[str] = []
        for group in self._groups:
            if isinstance(group, Map):
                problems += self._map_problems(group)
                continue
            if isinstance(group, FanIn):
                target = self._nodes.get(group.target)
                if target is None:
                    continue
                item = list_item_type(target.input_type)
                if item is None:
                    problems.append(
                        f"fan-in target {target.id!r} takes {type_name(target.input_type)}, "
                        f"not a list: a fan-in delivers list[...] of its sources' outputs"
                    )
                    continue
                for source in group.sources:
                    problems += self._edge_problem(source, target.id, item, f"list[{type_name(item)}]")
                continue
            for source in _sources(group):
                for target_id in _targets(group):
                    target = self._nodes.get(target_id)
                    if target is not None:
                        problems += self._edge_problem(source, target_id, target.input_type, None)
        for approval in (n for n in self._nodes.values() if isinstance(n, Approval)):
            if approval.on_timeout.action != "escalate":
                continue
            target = self._nodes.get(approval.on_timeout.escalate_to or "")
            if not isinstance(target, Approval):
                problems.append(
                    f"approval {approval.id!r} escalates to {approval.on_timeout.escalate_to!r}, "
                    "which is not an approval node of this workflow (add it with an edge first)"
                )
            elif not compatible(approval.input_type, target.input_type):
                problems.append(
                    f"approval {approval.id!r} escalates to {target.id!r}, but its request "
                    f"{type_name(approval.input_type)} is not a {type_name(target.input_type)}"
                )
        return problems

    def _edge_problem(self, source_id: str, target_id: str, accepted: Any, shown: str | None) -> list[str]:
        source = self._nodes.get(source_id)
        if source is None:
            return []
        produced = sendable(source.output_type)
        if produced is None:
            return [f"edge {source_id!r} -> {target_id!r}: {source_id!r} returns None, so it sends nothing"]
        if compatible(produced, accepted):
            return []
        return [
            f"type mismatch on edge {source_id!r} -> {target_id!r}: {source_id!r} emits "
            f"{type_name(source.output_type)} but {target_id!r} takes {shown or type_name(accepted)}"
        ]

    def _map_shape_problems(self) -> list[str]:
        """A map's per-item node belongs to that map alone: items come only from it, and their outputs
        go only to its collector (so an output is never an item and a message at once)."""
        problems: list[str] = []
        for group in self._groups:
            if not isinstance(group, Map):
                continue
            if group.target == group.source or group.target == group.collect:
                problems.append(f"map {group.source!r} -> {group.target!r}: the per-item node is its own")
                continue
            target = self._nodes.get(group.target)
            if isinstance(target, Approval) and target.on_timeout.escalate_to:
                problems.append(
                    f"map {group.source!r} -> {group.target!r}: a per-item approval cannot escalate (its "
                    "answer must come back to the map); give it a default answer or fail_run() on timeout"
                )
            for other in self._groups:
                if other is group:
                    continue
                if group.target in _sources(other) or group.target in _targets(other):
                    problems.append(
                        f"map {group.source!r} -> {group.target!r}: {group.target!r} runs per item of this "
                        "map and cannot take part in other edges (give it another executor around it)"
                    )
                    break
        return problems

    def _shape_problems(self) -> list[str]:
        problems: list[str] = []
        for group in self._groups:
            if isinstance(group, FanIn) and len(set(group.sources)) != len(group.sources):
                problems.append(f"fan-in into {group.target!r} names a source twice")
            if isinstance(group, FanOut) and not group.targets:
                problems.append(f"fan-out from {group.source!r} has no targets")
            if isinstance(group, Switch) and not group.cases:
                problems.append(f"switch from {group.source!r} has no cases")
        problems += self._map_shape_problems()
        successors: dict[str, list[str]] = {n: [] for n in self._nodes}
        for group in self._groups:
            for s in _sources(group):
                successors.setdefault(s, []).extend(_targets(group))
        for node in self._nodes.values():
            if isinstance(node, Approval) and node.on_timeout.escalate_to:
                successors[node.id].append(node.on_timeout.escalate_to)
        seen = {self._start}
        frontier = [self._start]
        while frontier:
            for nxt in successors.get(frontier.pop(), []):
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        for node_id in self._nodes:
            if node_id not in seen:
                problems.append(
                    f"executor {node_id!r} is unreachable from the start executor {self._start!r}"
                )
        return problems
