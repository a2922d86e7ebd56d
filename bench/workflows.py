"""The workflows our side of the durable benchmarks runs (trivial async executors)."""

from __future__ import annotations

from pydantic import BaseModel

from engine import Workflow, WorkflowBuilder, executor


class Count(BaseModel):
    left: int
    rounds: int = 0


@executor(id="tick")
async def tick(c: Count) -> Count:
    return Count(left=c.left - 1, rounds=c.rounds + 1)


@executor(id="done")
async def done(c: Count) -> int:
    return c.rounds


def more(c: Count) -> bool:
    return c.left > 0


def finished(c: Count) -> bool:
    return c.left <= 0


# A chain-like loop: ``tick`` runs left+1 times (one superstep each), then ``done``.
loop = (
    WorkflowBuilder("bench_loop", start=tick, max_supersteps=100_000)
    .add_edge(tick, tick, when=more)
    .add_edge(tick, done, when=finished)
    .build()
)


def _adder(i: int) -> object:
    async def add_one(x: int) -> int:
        return x + 1

    return executor(add_one, id=f"add_{i}")


_five = [_adder(i) for i in range(5)]
five_steps = WorkflowBuilder("bench_five", start=_five[0]).add_chain(_five).build()


@executor(id="spread")
async def spread(x: int) -> int:
    return x


@executor(id="gather")
async def gather(parts: list[int]) -> int:
    return sum(parts)


def fan_out(width: int) -> Workflow:
    branches = [_adder(100 + i) for i in range(width)]
    return (
        WorkflowBuilder(f"bench_fan{width}", start=spread)
        .add_fan_out(spread, branches)
        .add_fan_in(branches, gather)
        .build()
    )
