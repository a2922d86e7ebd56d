"""Every edge kind, run on the in-memory runner: what is delivered, to whom, in which superstep."""

import asyncio

import pytest
from pydantic import BaseModel

from engine import Case, InMemoryRunner, WorkflowBuilder, executor
from tests.engine.helpers import started, supersteps_of

WAIT = 5.0  # generous: only reached when the engine is wrong


class Ticket(BaseModel):
    text: str
    hops: list[str] = []


# --------------------------------------------------------------------------- plain edge and chain


async def test_plain_edge_delivers_the_output_to_the_target(runner: InMemoryRunner) -> None:
    @executor
    def double(n: int) -> int:
        return n * 2

    @executor
    def show(n: int) -> str:
        return f"n={n}"

    wf = WorkflowBuilder("plain", start=double).add_edge(double, show).build()
    result = await runner.run(wf, 21)

    assert result.status == "completed"
    assert result.error is None
    assert result.outputs == ["n=42"]
    assert supersteps_of(result, "double") == [1]
    assert supersteps_of(result, "show") == [2]


async def test_chain_runs_each_link_in_its_own_superstep_in_order(runner: InMemoryRunner) -> None:
    def hop(name: str):
        @executor(id=name)
        def step(t: Ticket) -> Ticket:
            return t.model_copy(update={"hops": [*t.hops, name]})

        return step

    a, b, c = hop("a"), hop("b"), hop("c")
    wf = WorkflowBuilder("chain", start=a).add_chain([a, b, c]).build()
    result = await runner.run(wf, {"text": "x"})

    assert result.outputs == [Ticket(text="x", hops=["a", "b", "c"])]
    assert [supersteps_of(result, n) for n in "abc"] == [[1], [2], [3]]


# --------------------------------------------------------------------------- conditional edges


def _parity_workflow():
    @executor
    def number(n: int) -> int:
        return n

    @executor
    def even(n: int) -> str:
        return f"even {n}"

    @executor
    def odd(n: int) -> str:
        return f"odd {n}"

    @executor
    def big(n: int) -> str:
        return f"big {n}"

    return (
        WorkflowBuilder("parity", start=number)
        .add_edge(number, even, when=lambda n: n % 2 == 0)
        .add_edge(number, odd, when=lambda n: n % 2 == 1)
        .add_edge(number, big, when=lambda n: n > 100)
        .build()
    )


@pytest.mark.parametrize(
    ("n", "outputs"),
    [(4, ["even 4"]), (3, ["odd 3"]), (102, ["even 102", "big 102"]), (101, ["odd 101", "big 101"])],
)
async def test_conditional_edge_sends_only_where_the_condition_holds(
    runner: InMemoryRunner, n: int, outputs: list[str]
) -> None:
    result = await runner.run(_parity_workflow(), n)
    assert result.status == "completed"
    assert result.outputs == outputs
    assert started(result) == ["number", *(o.split()[0] for o in outputs)]


async def test_conditional_edge_with_no_condition_holding_sends_nothing(runner: InMemoryRunner) -> None:
    @executor
    def source(n: int) -> int:
        return n

    @executor
    def never(n: int) -> int:
        return n

    wf = WorkflowBuilder("nowhere", start=source).add_edge(source, never, when=lambda n: n < 0).build()
    result = await runner.run(wf, 5)
    assert result.status == "completed"
    assert result.outputs == []
    assert started(result) == ["source"]


# --------------------------------------------------------------------------- fan-out


async def test_fan_out_sends_the_same_message_to_every_target_in_one_superstep(
    runner: InMemoryRunner,
) -> None:
    @executor
    def split(t: Ticket) -> Ticket:
        return t

    def tag(name: str):
        @executor(id=name)
        def step(t: Ticket) -> str:
            return f"{name}:{t.text}"

        return step

    targets = [tag("b"), tag("c"), tag("d")]
    wf = WorkflowBuilder("fanout", start=split).add_fan_out(split, targets).build()
    result = await runner.run(wf, {"text": "hi"})

    assert result.outputs == ["b:hi", "c:hi", "d:hi"]
    assert [supersteps_of(result, n) for n in "bcd"] == [[2], [2], [2]]


# --------------------------------------------------------------------------- fan-in


async def test_fan_in_delivers_a_list_in_source_order_whatever_the_completion_order(
    runner: InMemoryRunner,
) -> None:
    """The sources finish c, b, a (forced with events); the aggregator still receives [a, b, c]."""
    c_done, b_done = asyncio.Event(), asyncio.Event()
    finished: list[str] = []
    received: list[list[str]] = []

    @executor
    def split(n: int) -> int:
        return n

    @executor
    async def a(n: int) -> str:
        await asyncio.wait_for(b_done.wait(), WAIT)
        finished.append("a")
        return "from a"

    @executor
    async def b(n: int) -> str:
        await asyncio.wait_for(c_done.wait(), WAIT)
        finished.append("b")
        b_done.set()
        return "from b"

    @executor
    async def c(n: int) -> str:
        finished.append("c")
        c_done.set()
        return "from c"

    @executor
    def gather(items: list[str]) -> str:
        received.append(items)
        return " | ".join(items)

    wf = WorkflowBuilder("fanin", start=split).add_fan_out(split, [a, b, c]).add_fan_in([a, b, c], gather)
    result = await runner.run(wf.build(), 1)

    assert result.status == "completed", result.error
    assert finished == ["c", "b", "a"]
    assert received == [["from a", "from b", "from c"]]
    assert result.outputs == ["from a | from b | from c"]
    completed = [e.executor_id for e in result.events if e.kind == "executor_completed"]
    assert completed[1:4] == ["c", "b", "a"]  # events follow real completion order


async def test_fan_in_waits_for_sources_that_finish_in_different_supersteps(runner: InMemoryRunner) -> None:
    @executor
    def split(n: int) -> int:
        return n

    @executor
    def quick(n: int) -> int:
        return n + 1

    @executor
    def slow1(n: int) -> int:
        return n * 10

    @executor
    def slow2(n: int) -> int:
        return n * 10

    @executor
    def total(items: list[int]) -> list[int]:
        return items

    wf = (
        WorkflowBuilder("uneven", start=split)
        .add_fan_out(split, [slow1, quick])
        .add_edge(slow1, slow2)
        .add_fan_in([slow2, quick], total)
        .build()
    )
    result = await runner.run(wf, 2)

    assert result.outputs == [[200, 3]]  # source order of the fan-in, not arrival order
    assert supersteps_of(result, "quick") == [2]
    assert supersteps_of(result, "slow2") == [3]
    assert supersteps_of(result, "total") == [4]
    assert result.state.fan_in == {}


# --------------------------------------------------------------------------- switch


def _switch_workflow(with_default: bool):
    @executor
    def measure(n: int) -> int:
        return n

    def label(name: str):
        @executor(id=name)
        def step(n: int) -> str:
            return f"{name} {n}"

        return step

    huge, big, small = label("huge"), label("big"), label("small")
    builder = WorkflowBuilder("switch", start=measure)
    cases = [Case(lambda n: n > 100, huge), Case(lambda n: n > 10, big)]
    if with_default:
        return builder.add_switch(measure, cases, default=small).build()
    return builder.add_switch(measure, cases).build()


@pytest.mark.parametrize(
    ("n", "outputs"),
    [
        (500, ["huge 500"]),  # both cases hold: the first one wins, only it receives
        (50, ["big 50"]),
        (5, ["small 5"]),  # no case holds: the default
    ],
)
async def test_switch_first_matching_case_wins_else_default(
    runner: InMemoryRunner, n: int, outputs: list[str]
) -> None:
    result = await runner.run(_switch_workflow(with_default=True), n)
    assert result.outputs == outputs
    assert len(started(result)) == 2


async def test_switch_without_match_and_without_default_sends_nothing(runner: InMemoryRunner) -> None:
    result = await runner.run(_switch_workflow(with_default=False), 5)
    assert result.status == "completed"
    assert result.outputs == []
    assert started(result) == ["measure"]


# --------------------------------------------------------------------------- loops


def _counter(max_supersteps: int, until: int):
    @executor
    def tick(n: int) -> int:
        return n + 1

    @executor
    def done(n: int) -> str:
        return f"counted to {n}"

    return (
        WorkflowBuilder("counter", start=tick, max_supersteps=max_supersteps)
        .add_edge(tick, tick, when=lambda n: n < until)
        .add_edge(tick, done, when=lambda n: n >= until)
        .build()
    )


async def test_loop_runs_until_its_exit_condition(runner: InMemoryRunner) -> None:
    result = await runner.run(_counter(max_supersteps=100, until=5), 0)
    assert result.status == "completed"
    assert result.outputs == ["counted to 5"]
    assert supersteps_of(result, "tick") == [1, 2, 3, 4, 5]
    assert result.state.superstep == 6


async def test_loop_that_fits_exactly_in_max_supersteps_completes(runner: InMemoryRunner) -> None:
    # 5 ticks + done = 6 supersteps
    result = await runner.run(_counter(max_supersteps=6, until=5), 0)
    assert result.status == "completed"
    assert result.outputs == ["counted to 5"]


async def test_loop_exceeding_max_supersteps_fails_the_run(runner: InMemoryRunner) -> None:
    result = await runner.run(_counter(max_supersteps=5, until=5), 0)

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.type == "MaxSuperstepsExceeded"
    assert "'counter' exceeded max_supersteps=5" in result.error.message
    assert "['done']" in result.error.message  # what was still pending
    assert "max_supersteps" in str(result.error)
    assert result.outputs == []
    assert result.events[-1].kind == "run_failed"
    assert supersteps_of(result, "tick") == [1, 2, 3, 4, 5]
    assert result.state.status == "failed"
    assert result.state.deliveries == []


async def test_unconditional_self_loop_is_stopped_by_the_bound(runner: InMemoryRunner) -> None:
    @executor
    def spin(n: int) -> int:
        return n + 1

    wf = WorkflowBuilder("spin", start=spin, max_supersteps=3).add_edge(spin, spin).build()
    result = await runner.run(wf, 0)
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "MaxSuperstepsExceeded"
    assert "['spin']" in result.error.message
    assert len(started(result)) == 3


# --------------------------------------------------------------------------- outputs


async def test_outputs_of_sinks_come_in_production_order(runner: InMemoryRunner) -> None:
    """``early`` is declared after the long branch but produces first; the loop emits every round."""

    @executor
    def split(n: int) -> int:
        return n

    @executor
    def long1(n: int) -> int:
        return n

    @executor
    def late(n: int) -> str:
        return "late"

    @executor
    def early(n: int) -> str:
        return "early"

    wf = (
        WorkflowBuilder("order", start=split).add_fan_out(split, [long1, early]).add_edge(long1, late).build()
    )
    result = await runner.run(wf, 0)
    assert result.outputs == ["early", "late"]
    assert result.outputs_json() == ["early", "late"]


async def test_a_loop_feeding_a_sink_outputs_every_round_in_order(runner: InMemoryRunner) -> None:
    @executor
    def tick(n: int) -> int:
        return n + 1

    @executor
    def record(n: int) -> int:
        return n * 100

    wf = (
        WorkflowBuilder("rounds", start=tick)
        .add_edge(tick, tick, when=lambda n: n < 3)
        .add_edge(tick, record)
        .build()
    )
    result = await runner.run(wf, 0)
    assert result.outputs == [100, 200, 300]


async def test_returning_none_sends_nothing(runner: InMemoryRunner) -> None:
    @executor
    def maybe(n: int) -> int | None:
        return n if n > 0 else None

    @executor
    def after(n: int) -> int:
        return n

    @executor
    def silent_sink(n: int) -> int | None:
        return None

    wf = WorkflowBuilder("none", start=maybe).add_fan_out(maybe, [after, silent_sink]).build()

    nothing = await runner.run(wf, 0)
    assert nothing.status == "completed"
    assert nothing.outputs == []
    assert started(nothing) == ["maybe"]

    something = await runner.run(wf, 7)
    assert something.outputs == [7]  # silent_sink ran but produced no output
    assert started(something) == ["maybe", "after", "silent_sink"]


async def test_output_is_validated_against_the_declared_type(runner: InMemoryRunner) -> None:
    @executor
    def wrong(n: int) -> int:
        return "not a number"  # type: ignore[return-value]

    wf = WorkflowBuilder("wrong", start=wrong).build()
    result = await runner.run(wf, 1)

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.executor_id == "wrong"
    assert result.error.type == "ValidationError"
    assert "int" in result.error.message
    assert result.outputs == []


async def test_output_is_coerced_to_the_declared_model(runner: InMemoryRunner) -> None:
    seen: list[object] = []

    @executor
    def make(n: int) -> Ticket:
        return {"text": str(n)}  # type: ignore[return-value]

    @executor
    def use(t: Ticket) -> str:
        seen.append(t)
        return t.text

    wf = WorkflowBuilder("coerce", start=make).add_edge(make, use).build()
    result = await runner.run(wf, 3)
    assert result.outputs == ["3"]
    assert seen == [Ticket(text="3")]


async def test_invalid_run_input_is_refused_before_the_run_starts(runner: InMemoryRunner) -> None:
    from pydantic import ValidationError

    @executor
    def take(t: Ticket) -> str:
        return t.text

    wf = WorkflowBuilder("input", start=take).build()
    with pytest.raises(ValidationError):
        await runner.run(wf, {"nope": 1})
    assert (await runner.run(wf, {"text": "ok"})).outputs == ["ok"]


async def test_a_raising_condition_fails_the_run_naming_the_source(runner: InMemoryRunner) -> None:
    @executor
    def source(n: int) -> int:
        return n

    @executor
    def target(n: int) -> int:
        return n

    wf = WorkflowBuilder("badcond", start=source).add_edge(source, target, when=lambda n: 1 / n > 0).build()
    result = await runner.run(wf, 0)

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.executor_id == "source"
    assert result.error.type == "ZeroDivisionError"
    assert "condition on an edge from 'source' raised" in result.error.message
    assert result.events[-1].kind == "run_failed"
    assert (await runner.run(wf, 2)).outputs == [2]


async def test_fan_out_targets_do_not_share_a_mutable_message(runner: InMemoryRunner) -> None:
    """As on the durable runner (JSON per activity), one target's mutation is invisible to another."""
    a_done = asyncio.Event()

    @executor
    def split(t: Ticket) -> Ticket:
        return t

    @executor
    async def mutate(t: Ticket) -> list[str]:
        t.hops.append("mutate")
        a_done.set()
        return t.hops

    @executor
    async def read(t: Ticket) -> list[str]:
        await asyncio.wait_for(a_done.wait(), WAIT)
        return t.hops

    wf = WorkflowBuilder("shared", start=split).add_fan_out(split, [mutate, read]).build()
    result = await runner.run(wf, {"text": "x"})
    assert result.outputs == [["mutate"], []]


async def test_a_retry_gets_the_message_as_it_was_delivered(runner: InMemoryRunner) -> None:
    from datetime import timedelta

    from engine import RetryPolicy, StepContext, TransientError

    @executor(retry=RetryPolicy(max_attempts=2, first_interval=timedelta(0)))
    def careless(t: Ticket, ctx: StepContext) -> list[str]:
        t.hops.append(f"attempt {ctx.attempt}")
        if ctx.attempt == 1:
            raise TransientError("try again")
        return t.hops

    result = await runner.run(WorkflowBuilder("careless", start=careless).build(), {"text": "x"})
    assert result.outputs == [["attempt 2"]]
