"""Maps in memory: one trivial step per item of a list known only at run time, then gathered.

Ours: ``add_map(source, item, collect=gather)``, the source emitting the list of N ints, each item
``x + 1``, the collector summing the list it gets in item order. The result is microseconds per item
(wall time of the run / N; the source and the collector are two more steps, counted in the item cost).
Peers, each in its own documented idiom for a fan-out whose width is known only at run time:
Microsoft Agent Framework (one source executor sending N messages to one item executor, whose N outputs
one gather executor collects until it has all N, then yields their sum) and LangGraph (a conditional
edge returning N ``Send("item", ...)``, the items' outputs merged by an ``operator.add`` list reducer,
then one gather node).

No ``from __future__ import annotations`` here: Agent Framework reads its handlers' annotations at class
creation, and string annotations naming classes imported inside a function cannot be resolved there.
"""

import asyncio
import gc
import operator
import time
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from bench.common import Row, timed

OURS = "ours (InMemoryRunner)"
MAF = "Agent Framework"
LANGGRAPH = "LangGraph"
CASE = "map"


def _expected(n: int) -> int:
    return n * (n + 1) // 2  # the items are 0..n-1, each + 1


# --- ours ------------------------------------------------------------------------------------------


def _ours_workflow() -> Any:
    from engine import WorkflowBuilder, executor

    @executor(id="source")
    async def source(n: int) -> list[int]:
        return list(range(n))

    @executor(id="item")
    async def item(x: int) -> int:
        return x + 1

    @executor(id="gather")
    async def gather(parts: list[int]) -> int:
        return sum(parts)

    return WorkflowBuilder("bench_map", start=source).add_map(source, item, collect=gather).build()


def ours(n: int, loop: asyncio.AbstractEventLoop) -> Callable[[], Callable[[], Any]]:
    from engine import InMemoryRunner

    workflow = _ours_workflow()

    def prepare() -> Callable[[], Any]:
        runner = InMemoryRunner()

        def run() -> None:
            result = loop.run_until_complete(runner.run(workflow, n))
            assert result.status == "completed" and result.outputs == [_expected(n)], result.outputs

        return run

    return prepare


# --- Microsoft Agent Framework -------------------------------------------------------------------


def maf(n: int, loop: asyncio.AbstractEventLoop) -> Callable[[], Callable[[], Any]]:
    from typing import Never

    from agent_framework import Executor, WorkflowBuilder, WorkflowContext, handler

    class Source(Executor):
        @handler
        async def run(self, count: int, ctx: WorkflowContext[int]) -> None:
            for i in range(count):
                await ctx.send_message(i)

    class Item(Executor):
        @handler
        async def run(self, x: int, ctx: WorkflowContext[int]) -> None:
            await ctx.send_message(x + 1)

    class Gather(Executor):
        # Agent Framework's fan-in edges join distinct executors; N messages from one executor are
        # gathered in the receiving executor's own state, the documented way to aggregate.
        def __init__(self, expected: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.expected = expected
            self.parts: list[int] = []

        @handler
        async def run(self, x: int, ctx: WorkflowContext[Never, int]) -> None:
            self.parts.append(x)
            if len(self.parts) == self.expected:
                await ctx.yield_output(sum(self.parts))

    def prepare() -> Callable[[], Any]:
        source, item, gather = Source(id="source"), Item(id="item"), Gather(n, id="gather")
        workflow = (
            WorkflowBuilder(start_executor=source).add_edge(source, item).add_edge(item, gather).build()
        )

        def run() -> None:
            result = loop.run_until_complete(workflow.run(n))
            assert result.get_outputs() == [_expected(n)], result.get_outputs()

        return run

    return prepare


# --- LangGraph -------------------------------------------------------------------------------------


class _State(TypedDict):
    n: int
    parts: Annotated[list[int], operator.add]
    total: int


class _Item(TypedDict):
    x: int


def langgraph(n: int, loop: asyncio.AbstractEventLoop) -> Callable[[], Callable[[], Any]]:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    async def source(s: _State) -> dict[str, Any]:
        return {}

    def spread(s: _State) -> list[Send]:
        return [Send("item", {"x": i}) for i in range(s["n"])]

    async def item(s: _Item) -> dict[str, list[int]]:
        return {"parts": [s["x"] + 1]}

    async def gather(s: _State) -> dict[str, int]:
        return {"total": sum(s["parts"])}

    def prepare() -> Callable[[], Any]:
        g = StateGraph(_State)
        g.add_node("source", source)
        g.add_node("item", item)
        g.add_node("gather", gather)
        g.add_edge(START, "source")
        g.add_conditional_edges("source", spread, ["item"])
        g.add_edge("item", "gather")
        g.add_edge("gather", END)
        graph = g.compile()

        def run() -> None:
            result = loop.run_until_complete(graph.ainvoke({"n": n, "parts": [], "total": 0}))
            assert result["total"] == _expected(n), result["total"]

        return run

    return prepare


# --- the suite -------------------------------------------------------------------------------------


def _timed_once(prepare: Callable[[], Callable[[], Any]]) -> tuple[float, float]:
    """Wall and CPU seconds of one run (``prepare()`` untimed; GC first, as ``bench.common.timed``)."""
    thunk = prepare()
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    thunk()
    return time.perf_counter() - wall, time.process_time() - cpu


def run(
    n: int = 10_000, reps: int = 5, *, peers: bool = True, log: Callable[[str], None] = print
) -> list[Row]:
    loop = asyncio.new_event_loop()
    rows: list[Row] = []
    try:
        runners: list[tuple[str, Callable[[], Callable[[], Any]], int]] = [(OURS, ours(n, loop), reps)]
        if peers:
            runners += [
                (MAF, maf(n, loop), reps),
                # A LangGraph run of 10,000 items takes seconds: fewer repetitions.
                (LANGGRAPH, langgraph(n, loop), max(2, reps // 2)),
            ]
        # The runners take turns, one repetition each, so a busy minute on the shared machine falls on
        # all of them rather than on whichever ran then. Beside the wall time, the process's CPU time
        # (every thread of it): what a busy machine stretches least.
        wall: dict[str, list[float]] = {name: [] for name, _, _ in runners}
        cpu: dict[str, list[float]] = {name: [] for name, _, _ in runners}
        for _, prepare, _ in runners:
            timed(prepare, 0, warmup=1)
        for rep in range(max(count for _, _, count in runners)):
            for name, prepare, count in runners:
                if rep < count:
                    seconds, cpu_seconds = _timed_once(prepare)
                    wall[name].append(seconds / n * 1e6)
                    cpu[name].append(cpu_seconds / n * 1e6)
        for name, _, _ in runners:
            extra = {"items": n, "steps": n + 2, "cpu_us_per_item": cpu[name]}
            row = Row("map", CASE, name, n, "us/item", wall[name], extra=extra)
            log(
                f"  map of {n:<6} {name:28} min {row.best:8.1f}  median {row.median:8.1f} us/item "
                f"(CPU min {min(cpu[name]):8.1f})"
            )
            rows.append(row)
    finally:
        loop.close()
    return rows
