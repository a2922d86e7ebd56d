"""THE routing core: what one superstep emitted → what the next superstep receives.

Both runners call this and nothing else to move messages along edges, so the in-memory runner and the
durable orchestrator cannot disagree on graph semantics. It is pure and deterministic: no I/O, no
clocks, and every ordering follows the order of its inputs and of the workflow's declared edges.
Its state (fan-in buffers) and its results have JSON forms (``RoutingCodec``) so a durable orchestrator
can carry them across ``continue_as_new`` and a paused in-memory run across processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from engine.core.graph import Edge, FanIn, FanOut, Map, Switch, Workflow
from engine.core.mapping import Gather, GatherJSON, ItemFailed, ItemTag, ItemTagJSON

RUN_INPUT = ""


@dataclass(frozen=True, slots=True)
class Emission:
    """A message one node produced in a superstep (``item``: as one item of a map batch)."""

    source: str
    message: Any
    item: ItemTag | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message a node will receive in the next superstep (a fan-in target receives a list; a map's
    per-item node one item, tagged)."""

    target: str
    message: Any
    source: str
    item: ItemTag | None = None


@dataclass(slots=True)
class Routed:
    """One routing pass: the next superstep's deliveries, and the emissions that are the run's outputs."""

    deliveries: list[Delivery]
    outputs: list[Emission]


@dataclass(slots=True)
class FanInBuffers:
    """Messages waiting at each fan-in until every one of its sources has delivered."""

    waiting: dict[int, dict[str, list[Any]]] = field(default_factory=dict)
    # Per fan-in: how many of its sources have a message waiting (a cache over ``waiting``, counted
    # on first use), so checking "has every source delivered?" costs O(1), not O(sources).
    filled: dict[int, int] = field(default_factory=dict, repr=False, compare=False)
    # Map batches gathering their items' outputs, by batch id; and batches begun per map (the ids).
    gathering: dict[str, Gather] = field(default_factory=dict)
    batches: dict[int, int] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """Whether no fan-in holds a message and no map batch is still gathering."""
        return not self.gathering and not any(
            any(queue for queue in group.values()) for group in self.waiting.values()
        )


class MapItemsError(ValueError):
    """What a map's source sent cannot be mapped: not a list, or more items than the map allows."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(message)
        self.source = source


class Router:
    """The edges of one workflow, compiled into per-source routes."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self._fan_ins: list[FanIn] = []
        self._maps: list[Map] = []
        self._routes: dict[str, list[Edge | FanOut | Switch | tuple[int, FanIn] | tuple[int, Map]]] = {}
        for group in workflow.groups:
            if isinstance(group, Map):
                self._routes.setdefault(group.source, []).append((len(self._maps), group))
                self._maps.append(group)
            elif isinstance(group, FanIn):
                index = len(self._fan_ins)
                self._fan_ins.append(group)
                for source in group.sources:
                    self._routes.setdefault(source, []).append((index, group))
            else:
                self._routes.setdefault(group.source, []).append(group)
        self._sinks = workflow.sinks()

    def start(self, message: Any) -> list[Delivery]:
        """The run's first delivery: its input, to the start node."""
        return [Delivery(self.workflow.start, message, RUN_INPUT)]

    def route(self, emitted: Sequence[Emission], buffers: FanInBuffers) -> Routed:
        """Deliveries for the next superstep, and the emissions that leave the graph as run outputs."""
        deliveries: list[Delivery] = []
        outputs: list[Emission] = []
        for emission in emitted:
            if emission.item is not None:
                # One item's output (None included: it keeps the item's place in the list).
                gathered = self._gather(emission, buffers)
                if gathered is not None:
                    deliveries.append(gathered)
                continue
            if emission.message is None:
                continue
            source = emission.source
            if source in self._sinks:
                outputs.append(emission)
                continue
            message = emission.message
            for route in self._routes[source]:
                self._follow(route, source, message, buffers, deliveries)
        return Routed(deliveries, outputs)

    def _follow(
        self, route: Any, source: str, message: Any, buffers: FanInBuffers, deliveries: list[Delivery]
    ) -> None:
        """One route out of ``source`` taken by ``message``: what it delivers goes into ``deliveries``."""
        if isinstance(route, Edge):
            if route.condition is None or route.condition(message):
                deliveries.append(Delivery(route.target, message, source))
        elif isinstance(route, FanOut):
            deliveries.extend(Delivery(t, message, source) for t in route.targets)
        elif isinstance(route, Switch):
            target = next((t for pred, t in route.cases if pred(message)), route.default)
            if target is not None:
                deliveries.append(Delivery(target, message, source))
        elif isinstance(route[1], Map):
            deliveries.extend(self._spread(route[0], route[1], message, buffers))
        else:
            index, fan_in = route
            gathered = self._wait_at_fan_in(index, fan_in, source, message, buffers)
            if gathered is not None:
                deliveries.append(gathered)

    @staticmethod
    def _wait_at_fan_in(
        index: int, fan_in: FanIn, source: str, message: Any, buffers: FanInBuffers
    ) -> Delivery | None:
        """Queue ``message`` at fan-in ``index``; once every source has one waiting, one from each."""
        group = buffers.waiting.setdefault(index, {})
        queue = group.get(source)
        if queue is None:
            queue = group[source] = []
        was_empty = not queue
        queue.append(message)
        filled = buffers.filled.get(index)
        if filled is None:
            filled = sum(1 for s in fan_in.sources if group.get(s))
        elif was_empty:
            filled += 1
        delivery = None
        if filled == len(fan_in.sources):
            gathered = []
            for s in fan_in.sources:
                waiting = group[s]
                gathered.append(waiting.pop(0))
                if not waiting:
                    filled -= 1
            delivery = Delivery(fan_in.target, gathered, source)
        buffers.filled[index] = filled
        return delivery

    def _spread(self, index: int, group: Map, message: Any, buffers: FanInBuffers) -> list[Delivery]:
        """One delivery per item to the map's per-item node; no items: ``[]`` to its collector at once."""
        items = group.items(message) if group.items is not None else message
        if not isinstance(items, list | tuple):
            raise MapItemsError(
                group.source,
                f"map {group.source!r} -> {group.target!r} needs a list of items, got {type(items).__name__}",
            )
        if len(items) > group.max_items:
            raise MapItemsError(
                group.source,
                f"map {group.source!r} -> {group.target!r} got {len(items)} items, over its limit of "
                f"{group.max_items} (add_map(max_items=...) or the WORKFLOW_MAX_MAP_ITEMS app setting)",
            )
        if not items:
            return [Delivery(group.collect, [], group.source)]
        number = buffers.batches.get(index, 0)
        buffers.batches[index] = number + 1
        batch = f"{index}.{number}"
        buffers.gathering[batch] = Gather(index, len(items))
        return [Delivery(group.target, item, group.source, ItemTag(batch, i)) for i, item in enumerate(items)]

    def _gather(self, emission: Emission, buffers: FanInBuffers) -> Delivery | None:
        """Keep one item's output; the batch's list for the collector once every item has delivered."""
        tag = emission.item
        assert tag is not None
        gather = buffers.gathering.get(tag.batch)
        if gather is None:
            return None
        gather.results[tag.index] = emission.message
        if len(gather.results) < gather.count:
            return None
        del buffers.gathering[tag.batch]
        group = self._maps[gather.map_index]
        return Delivery(group.collect, [gather.results[i] for i in range(gather.count)], group.target)


class DeliveryJSON(BaseModel):
    """A delivery as JSON, its message in its target's input form."""

    target: str
    source: str
    message: Any
    item: ItemTagJSON | None = None


class EmissionJSON(BaseModel):
    """An emission as JSON, its message in its source's output form."""

    source: str
    message: Any


class RoutingCodec:
    """JSON forms of routing data, each value through the type adapter of the port it sits on."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self._fan_ins = [g for g in workflow.groups if isinstance(g, FanIn)]

    def dump_delivery(self, delivery: Delivery) -> DeliveryJSON:
        """A delivery as JSON, through its target's input adapter."""
        adapter = self.workflow.nodes[delivery.target].input_adapter
        item = delivery.item
        return DeliveryJSON(
            target=delivery.target,
            source=delivery.source,
            message=adapter.dump_python(delivery.message, mode="json"),
            item=ItemTagJSON(batch=item.batch, index=item.index) if item is not None else None,
        )

    def load_delivery(self, data: DeliveryJSON) -> Delivery:
        """A delivery back from JSON, its message validated as its target's input."""
        adapter = self.workflow.nodes[data.target].input_adapter
        item = ItemTag(data.item.batch, data.item.index) if data.item is not None else None
        return Delivery(data.target, adapter.validate_python(data.message), data.source, item)

    def dump_gathering(self, buffers: FanInBuffers) -> tuple[dict[str, GatherJSON], dict[str, int]]:
        """The batches still gathering their items' outputs, and the batches begun per map, as JSON."""
        maps = [g for g in self.workflow.groups if isinstance(g, Map)]
        out: dict[str, GatherJSON] = {}
        for batch, gather in sorted(buffers.gathering.items()):
            adapter = self.workflow.nodes[maps[gather.map_index].target].output_adapter
            results = [
                (
                    i,
                    isinstance(v, ItemFailed),
                    v.model_dump(mode="json")
                    if isinstance(v, ItemFailed)
                    else adapter.dump_python(v, mode="json"),
                )
                for i, v in sorted(gather.results.items())
            ]
            out[batch] = GatherJSON(map_index=gather.map_index, count=gather.count, results=results)
        return out, {str(k): v for k, v in sorted(buffers.batches.items())}

    def load_gathering(
        self, buffers: FanInBuffers, gathering: dict[str, GatherJSON], batches: dict[str, int]
    ) -> None:
        """Put the gathering batches and the batch counts back into ``buffers`` from their JSON."""
        maps = [g for g in self.workflow.groups if isinstance(g, Map)]
        for batch, data in gathering.items():
            adapter = self.workflow.nodes[maps[data.map_index].target].output_adapter
            results = {
                i: ItemFailed.model_validate(v) if failed else adapter.validate_python(v)
                for i, failed, v in data.results
            }
            buffers.gathering[batch] = Gather(data.map_index, data.count, results)
        buffers.batches.update({int(k): v for k, v in batches.items()})

    def dump_emission(self, emission: Emission) -> EmissionJSON:
        """An emission as JSON, through its source's output adapter."""
        adapter = self.workflow.nodes[emission.source].output_adapter
        return EmissionJSON(
            source=emission.source, message=adapter.dump_python(emission.message, mode="json")
        )

    def load_emission(self, data: EmissionJSON) -> Emission:
        """An emission back from JSON, its message validated as its source's output."""
        adapter = self.workflow.nodes[data.source].output_adapter
        return Emission(data.source, adapter.validate_python(data.message))

    def dump_buffers(self, buffers: FanInBuffers) -> dict[str, dict[str, list[Any]]]:
        """The messages waiting at fan-ins as JSON, by fan-in index and source; empty queues are left out."""
        out: dict[str, dict[str, list[Any]]] = {}
        for index, group in sorted(buffers.waiting.items()):
            queues = {
                source: [
                    self.workflow.nodes[source].output_adapter.dump_python(m, mode="json") for m in queue
                ]
                for source, queue in group.items()
                if queue
            }
            if queues:
                out[str(index)] = queues
        return out

    def load_buffers(self, data: dict[str, dict[str, list[Any]]]) -> FanInBuffers:
        """Fan-in buffers back from their JSON, each message validated as its source's output."""
        waiting: dict[int, dict[str, list[Any]]] = {}
        for index, group in data.items():
            waiting[int(index)] = {
                source: [self.workflow.nodes[source].output_adapter.validate_python(m) for m in queue]
                for source, queue in group.items()
            }
        return FanInBuffers(waiting)
