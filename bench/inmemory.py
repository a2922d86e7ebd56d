"""In-memory runner overhead: trivial async executors, so only the engine is measured.

Shapes: a chain of N steps, and a fan-out of N followed by a fan-in (N + 2 steps: the source, the N
branches, the aggregator). The result is microseconds per step (wall time of the run / steps).
Peers: Microsoft Agent Framework's in-process workflow runner and LangGraph (without and with its
in-memory checkpointer).
"""

import asyncio
import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from bench.common import Row, timed

OURS = "ours (InMemoryRunner)"
MAF = "Agent Framework"
LANGGRAPH = "LangGraph"
LANGGRAPH_MEM = "LangGraph + InMemorySaver"


def steps_of(case: str, n: int) -> int:
    return n if case == "chain" else n + 2


# --- ours ------------------------------------------------------------------------------------------


def _ours_workflow(case: str, n: int) -> Any:
    from engine import WorkflowBuilder, executor

    def step(i: int) -> Any:
        async def inc(x: int) -> int:
            return x + 1

        return executor(inc, id=f"s{i}")

    nodes = [step(i) for i in range(n)]
    if case == "chain":
        return WorkflowBuilder("bench_chain", start=nodes[0], max_supersteps=n + 1).add_chain(nodes).build()

    @executor(id="source")
    async def source(x: int) -> int:
        return x

    @executor(id="gather")
    async def gather(parts: list[int]) -> int:
        return sum(parts)

    return (
        WorkflowBuilder("bench_fan", start=source)
        .add_fan_out(source, nodes)
        .add_fan_in(nodes, gather)
        .build()
    )


def ours(case: str, n: int, loop: asyncio.AbstractEventLoop) -> Callable[[], Callable[[], Any]]:
    from engine import InMemoryRunner

    workflow = _ours_workflow(case, n)
    expected = n  # a chain adds 1 n times; a fan-out sums n branches of 0 + 1

    def prepare() -> Callable[[], Any]:
        runner = InMemoryRunner()

        def run() -> None:
            result = loop.run_until_complete(runner.run(workflow, 0))
            assert result.status == "completed" and result.outputs == [expected], result.outputs

        return run

    return prepare


# --- Microsoft Agent Framework -------------------------------------------------------------------


def maf(case: str, n: int, loop: asyncio.AbstractEventLoop) -> Callable[[], Callable[[], Any]]:
    from typing import Never

    from agent_framework import Executor, WorkflowBuilder, WorkflowContext, handler

    class Inc(Executor):
        @handler
        async def run(self, x: int, ctx: WorkflowContext[int]) -> None:
            await ctx.send_message(x + 1)

    class Last(Executor):
        @handler
        async def run(self, x: int, ctx: WorkflowContext[Never, int]) -> None:
            await ctx.yield_output(x + 1)

    class Source(Executor):
        @handler
        async def run(self, x: int, ctx: WorkflowContext[int]) -> None:
            await ctx.send_message(x)

    class Gather(Executor):
        @handler
        async def run(self, parts: list[int], ctx: WorkflowContext[Never, int]) -> None:
            await ctx.yield_output(sum(parts))

    def build() -> Any:
        if case == "chain":
            nodes = [Inc(id=f"s{i}") for i in range(n - 1)] + [Last(id=f"s{n - 1}")]
            return WorkflowBuilder(max_iterations=n + 1, start_executor=nodes[0]).add_chain(nodes).build()
        src, agg = Source(id="source"), Gather(id="gather")
        branches = [Inc(id=f"s{i}") for i in range(n)]
        return (
            WorkflowBuilder(start_executor=src)
            .add_fan_out_edges(src, branches)
            .add_fan_in_edges(branches, agg)
            .build()
        )

    def prepare() -> Callable[[], Any]:
        workflow = build()  # a fresh workflow per run (building is not timed)

        def run() -> None:
            result = loop.run_until_complete(workflow.run(0))
            assert result.get_outputs() == [n], result.get_outputs()

        return run

    return prepare


# --- LangGraph -------------------------------------------------------------------------------------


class _Chain(TypedDict):
    x: int


class _Fan(TypedDict):
    x: int
    parts: Annotated[list[int], operator.add]


def langgraph(
    case: str, n: int, loop: asyncio.AbstractEventLoop, *, checkpointer: bool
) -> Callable[[], Callable[[], Any]]:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph

    def build() -> Any:
        saver = InMemorySaver() if checkpointer else None
        if case == "chain":
            g = StateGraph(_Chain)

            async def inc(s: _Chain) -> dict[str, int]:
                return {"x": s["x"] + 1}

            for i in range(n):
                g.add_node(f"s{i}", inc)
            g.add_edge(START, "s0")
            for i in range(n - 1):
                g.add_edge(f"s{i}", f"s{i + 1}")
            g.add_edge(f"s{n - 1}", END)
            return g.compile(checkpointer=saver)
        f = StateGraph(_Fan)

        async def source(s: _Fan) -> dict[str, int]:
            return {"x": s["x"]}

        async def part(s: _Fan) -> dict[str, list[int]]:
            return {"parts": [s["x"] + 1]}

        async def gather(s: _Fan) -> dict[str, int]:
            return {"x": sum(s["parts"])}

        f.add_node("source", source)
        f.add_node("gather", gather)
        names = [f"s{i}" for i in range(n)]
        for name in names:
            f.add_node(name, part)
            f.add_edge("source", name)
        f.add_edge(START, "source")
        f.add_edge(names, "gather")
        f.add_edge("gather", END)
        return f.compile(checkpointer=saver)

    counter = iter(range(1_000_000))

    def prepare() -> Callable[[], Any]:
        graph = build()
        config = {"recursion_limit": n + 10, "configurable": {"thread_id": f"t{next(counter)}"}}
        start: dict[str, Any] = {"x": 0} if case == "chain" else {"x": 0, "parts": []}

        def run() -> None:
            result = loop.run_until_complete(graph.ainvoke(start, config))
            assert result["x"] == n, result["x"]

        return run

    return prepare


# --- the suite -------------------------------------------------------------------------------------


def run(n: int = 1000, reps: int = 5, *, peers: bool = True, log: Callable[[str], None] = print) -> list[Row]:
    loop = asyncio.new_event_loop()
    rows: list[Row] = []
    try:
        for case in ("chain", "fan_out"):
            runners: list[tuple[str, Callable[[], Callable[[], Any]], int]] = [
                (OURS, ours(case, n, loop), reps)
            ]
            if peers:
                runners += [
                    (MAF, maf(case, n, loop), reps),
                    (LANGGRAPH, langgraph(case, n, loop, checkpointer=False), max(3, reps // 2)),
                    (LANGGRAPH_MEM, langgraph(case, n, loop, checkpointer=True), max(3, reps // 2)),
                ]
            for name, prepare, count in runners:
                steps = steps_of(case, n)
                samples = [s / steps * 1e6 for s in timed(prepare, count)]
                row = Row("inmemory", case, name, n, "us/step", samples, extra={"steps": steps})
                log(f"  in-memory {case:8} {name:28} min {row.best:8.1f}  median {row.median:8.1f} us/step")
                rows.append(row)
    finally:
        loop.close()
    return rows
