"""StepContext: what an executor is told, and idempotency keys' stability and distinctness."""

import logging

from engine import Executor, InMemoryRunner, StepContext, WorkflowBuilder, executor
from engine.core.supersteps import idempotency_key


def recording_workflow(log: list[StepContext], *, loops: int = 0):
    """start -> [a, b]; a loops ``loops`` times; b gets two messages in one superstep (from start, a)."""

    @executor
    def start(n: int, ctx: StepContext) -> int:
        log.append(ctx)
        return n

    @executor
    def a(n: int, ctx: StepContext) -> int:
        log.append(ctx)
        return n + 1

    @executor
    def b(n: int, ctx: StepContext) -> None:
        log.append(ctx)

    return (
        WorkflowBuilder("ctx", start=start)
        .add_fan_out(start, [a, b])
        .add_edge(a, a, when=lambda n: n < loops)
        .build()
    )


async def test_step_context_fields(runner: InMemoryRunner) -> None:
    log: list[StepContext] = []
    await runner.run(recording_workflow(log), 0, instance_id="inst-1")

    first = log[0]
    assert first.workflow == "ctx"
    assert first.instance_id == "inst-1"
    assert first.executor_id == "start"
    assert first.attempt == 1
    assert isinstance(first.logger, logging.Logger)
    assert first.logger.name == "engine.step.start"
    assert len(first.idempotency_key) == 32
    assert first.idempotency_key == idempotency_key("ctx", "inst-1", 1, "start", 0)
    assert {c.executor_id for c in log} == {"start", "a", "b"}


async def test_idempotency_keys_are_distinct_between_steps(runner: InMemoryRunner) -> None:
    log: list[StepContext] = []
    await runner.run(recording_workflow(log, loops=4), 0, instance_id="inst-1")

    a_keys = [c.idempotency_key for c in log if c.executor_id == "a"]
    assert len(a_keys) == 4  # the same executor in four supersteps
    keys = [c.idempotency_key for c in log]
    assert len(keys) == len(set(keys))  # every step its own key


async def test_two_messages_to_one_executor_in_one_superstep_get_distinct_keys(
    runner: InMemoryRunner,
) -> None:
    log: list[StepContext] = []

    @executor
    def split(n: int) -> int:
        return n

    @executor
    def twice(n: int, ctx: StepContext) -> int:
        log.append(ctx)
        return n

    wf = WorkflowBuilder("twice", start=split).add_edge(split, twice).add_edge(split, twice).build()
    result = await runner.run(wf, 3)
    assert result.outputs == [3, 3]
    assert len({c.idempotency_key for c in log}) == 2


async def test_idempotency_keys_are_stable_per_step_and_distinct_between_instances(
    runner: InMemoryRunner,
) -> None:
    runs: dict[str, list[str]] = {}
    for label, instance in (("first", "inst-1"), ("replay", "inst-1"), ("other", "inst-2")):
        log: list[StepContext] = []
        await runner.run(recording_workflow(log, loops=2), 0, instance_id=instance)
        runs[label] = [c.idempotency_key for c in sorted(log, key=_step_order)]

    assert runs["first"] == runs["replay"]  # same run, same steps: same keys
    assert not set(runs["first"]) & set(runs["other"])


def test_idempotency_key_depends_on_every_part() -> None:
    base = ("wf", "inst", 3, "pay", 0)
    keys = {
        idempotency_key(*base),
        idempotency_key("wf2", *base[1:]),
        idempotency_key("wf", "inst2", 3, "pay", 0),
        idempotency_key("wf", "inst", 4, "pay", 0),
        idempotency_key("wf", "inst", 3, "pay2", 0),
        idempotency_key("wf", "inst", 3, "pay", 1),
    }
    assert len(keys) == 6
    assert idempotency_key(*base) == idempotency_key(*base)


def _step_order(ctx: StepContext) -> tuple[str, str]:
    return (ctx.executor_id, ctx.idempotency_key)


async def test_annotations_appear_in_the_step_events(runner: InMemoryRunner) -> None:
    class Model(Executor[str, str]):
        async def handle(self, message: str, ctx: StepContext) -> str:
            ctx.annotate(model="tiny", tokens=12)
            return message[::-1]

    result = await runner.run(WorkflowBuilder("notes", start=Model("model")).build(), "abc")
    assert result.outputs == ["cba"]
    completed = next(e for e in result.events if e.kind == "executor_completed")
    assert completed.data == {"model": "tiny", "tokens": 12}
    assert completed.executor_id == "model"
    assert completed.duration_ms is not None and completed.duration_ms >= 0


async def test_executor_without_context_parameter(runner: InMemoryRunner) -> None:
    @executor(id="upper", description="shout")
    def upper(text: str) -> str:
        return text.upper()

    assert upper.description == "shout"
    result = await runner.run(WorkflowBuilder("noctx", start=upper).build(), "hi")
    assert result.outputs == ["HI"]
