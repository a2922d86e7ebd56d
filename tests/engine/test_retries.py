"""Retry policies on the in-memory runner; time observed through a ManualClock, never measured."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from engine import (
    InMemoryRunner,
    ManualClock,
    NonRetryableError,
    RetryPolicy,
    RunError,
    StepContext,
    TransientError,
    WorkflowBuilder,
    executor,
)
from engine.core.retry import classify, retry_delay
from tests.engine.helpers import T0, kinds, started

NO_WAIT = RetryPolicy(max_attempts=3, first_interval=timedelta(0))


class Flaky:
    """Fails with ``errors`` (one per attempt, in order), then returns its input doubled."""

    def __init__(self, *errors: BaseException, clock: ManualClock | None = None) -> None:
        self.errors = list(errors)
        self.attempts: list[int] = []
        self.keys: list[str] = []
        self.times: list[object] = []
        self.clock = clock

    def __call__(self, n: int, ctx: StepContext) -> int:
        self.attempts.append(ctx.attempt)
        self.keys.append(ctx.idempotency_key)
        if self.clock is not None:
            self.times.append(self.clock.now())
        if self.errors:
            raise self.errors.pop(0)
        return n * 2


def one_step(behaviour: Flaky, retry: RetryPolicy | None):
    def flaky(n: int, ctx: StepContext) -> int:
        return behaviour(n, ctx)

    step = executor(flaky, id="flaky", retry=retry)
    return WorkflowBuilder("retries", start=step).build()


async def test_transient_failures_then_success(runner: InMemoryRunner) -> None:
    behaviour = Flaky(TransientError("busy"), ConnectionError("reset"))
    result = await runner.run(one_step(behaviour, NO_WAIT), 21)

    assert result.status == "completed"
    assert result.outputs == [42]
    assert behaviour.attempts == [1, 2, 3]
    assert len(set(behaviour.keys)) == 1  # one step: one idempotency key for every attempt
    assert kinds(result.events) == [
        "run_started",
        "superstep_started",
        "executor_started",
        "executor_failed",
        "executor_retrying",
        "executor_started",
        "executor_failed",
        "executor_retrying",
        "executor_started",
        "executor_completed",
        "superstep_completed",
        "run_completed",
    ]
    failed = [e for e in result.events if e.kind == "executor_failed"]
    assert [(e.attempt, e.error) for e in failed] == [
        (1, "TransientError: busy"),
        (2, "ConnectionError: reset"),
    ]
    retrying = [e for e in result.events if e.kind == "executor_retrying"]
    assert [e.attempt for e in retrying] == [2, 3]
    completed = next(e for e in result.events if e.kind == "executor_completed")
    assert completed.attempt == 3


async def test_attempts_run_out(runner: InMemoryRunner) -> None:
    behaviour = Flaky(*(TransientError(f"busy {i}") for i in range(5)))
    result = await runner.run(one_step(behaviour, NO_WAIT), 1)

    assert result.status == "failed"
    assert behaviour.attempts == [1, 2, 3]
    assert result.error == RunError(executor_id="flaky", type="TransientError", message="busy 2")


async def test_non_retryable_exception_type_fails_at_once(runner: InMemoryRunner) -> None:
    policy = RetryPolicy(max_attempts=5, first_interval=timedelta(0), non_retryable=(LookupError,))
    behaviour = Flaky(KeyError("missing"))  # a subclass of the listed type
    result = await runner.run(one_step(behaviour, policy), 1)

    assert result.status == "failed"
    assert behaviour.attempts == [1]
    assert result.error is not None
    assert (result.error.executor_id, result.error.type) == ("flaky", "KeyError")
    assert "executor_retrying" not in kinds(result.events)


async def test_other_exception_types_are_still_retried(runner: InMemoryRunner) -> None:
    policy = RetryPolicy(max_attempts=5, first_interval=timedelta(0), non_retryable=(LookupError,))
    behaviour = Flaky(ValueError("flaky"))
    result = await runner.run(one_step(behaviour, policy), 1)
    assert result.status == "completed"
    assert behaviour.attempts == [1, 2]


async def test_non_retryable_error_fails_at_once_whatever_the_policy(runner: InMemoryRunner) -> None:
    behaviour = Flaky(NonRetryableError("card declined"))
    policy = RetryPolicy(max_attempts=10, first_interval=timedelta(0))
    result = await runner.run(one_step(behaviour, policy), 1)

    assert result.status == "failed"
    assert behaviour.attempts == [1]
    assert result.error == RunError(executor_id="flaky", type="NonRetryableError", message="card declined")


async def test_backoff_delays_observed_on_the_manual_clock(clock: ManualClock) -> None:
    runner = InMemoryRunner(clock=clock)
    policy = RetryPolicy(
        max_attempts=5,
        first_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        max_interval=timedelta(seconds=3),
    )
    behaviour = Flaky(*(TransientError("busy") for _ in range(4)), clock=clock)
    result = await runner.run(one_step(behaviour, policy), 1)

    assert result.status == "completed"
    offsets = [(t - T0).total_seconds() for t in behaviour.times]  # type: ignore[operator]
    assert offsets == [0, 1, 3, 6, 9]  # waits 1, 2, then 4 capped to 3, 3
    delays = [e.data["delay_ms"] for e in result.events if e.kind == "executor_retrying" and e.data]
    assert delays == [1000, 2000, 3000, 3000]


async def test_retry_after_stretches_the_delay(clock: ManualClock) -> None:
    runner = InMemoryRunner(clock=clock)
    policy = RetryPolicy(max_attempts=3, first_interval=timedelta(seconds=1))
    behaviour = Flaky(
        TransientError("slow down", retry_after=timedelta(seconds=30)),
        TransientError("hint shorter than the policy", retry_after=timedelta(milliseconds=10)),
        clock=clock,
    )
    result = await runner.run(one_step(behaviour, policy), 1)

    assert result.status == "completed"
    offsets = [(t - T0).total_seconds() for t in behaviour.times]  # type: ignore[operator]
    assert offsets == [0, 30, 32]  # 30 s from Retry-After, then the policy's 2 s (longer than 10 ms)


async def test_failure_without_policy_fails_the_run_with_id_type_and_message(runner: InMemoryRunner) -> None:
    behaviour = Flaky(ValueError("boom"), TransientError("never reached"))
    result = await runner.run(one_step(behaviour, None), 1)

    assert result.status == "failed"
    assert behaviour.attempts == [1]
    assert result.error == RunError(executor_id="flaky", type="ValueError", message="boom")
    assert str(result.error) == "executor 'flaky' failed: ValueError: boom"
    assert result.state.error == result.error
    assert result.events[-1].kind == "run_failed"
    assert result.events[-1].error == "executor 'flaky' failed: ValueError: boom"


async def test_transient_error_without_policy_is_not_retried(runner: InMemoryRunner) -> None:
    behaviour = Flaky(TransientError("busy", retry_after=timedelta(seconds=1)))
    result = await runner.run(one_step(behaviour, None), 1)
    assert result.status == "failed"
    assert behaviour.attempts == [1]


async def test_one_failure_fails_the_superstep_whatever_the_others_did(runner: InMemoryRunner) -> None:
    @executor
    def split(n: int) -> int:
        return n

    @executor
    def good(n: int) -> int:
        return n

    @executor
    def bad(n: int) -> int:
        raise RuntimeError("broken")

    @executor
    def after_good(n: int) -> str:
        return "should not run"

    wf = (
        WorkflowBuilder("mixed", start=split)
        .add_fan_out(split, [good, bad])
        .add_edge(good, after_good)
        .build()
    )
    result = await runner.run(wf, 1)

    assert result.status == "failed"
    assert result.error == RunError(executor_id="bad", type="RuntimeError", message="broken")
    completed = [e.executor_id for e in result.events if e.kind == "executor_completed"]
    assert "good" in completed  # it did succeed...
    assert "after_good" not in started(result)  # ...but nothing of that superstep is routed
    assert result.outputs == []
    assert [e.superstep for e in result.events if e.kind == "superstep_completed"] == [1]


async def test_a_retrying_executor_and_a_succeeding_sibling(runner: InMemoryRunner) -> None:
    behaviour = Flaky(TransientError("busy"))

    def flaky(n: int, ctx: StepContext) -> int:
        return behaviour(n, ctx)

    @executor
    def split(n: int) -> int:
        return n

    @executor
    def steady(n: int) -> int:
        return n + 1

    step = executor(flaky, id="flaky", retry=NO_WAIT)
    wf = WorkflowBuilder("siblings", start=split).add_fan_out(split, [step, steady]).build()
    result = await runner.run(wf, 5)
    assert result.status == "completed"
    assert result.outputs == [10, 6]  # step order, not completion order
    assert behaviour.attempts == [1, 2]


async def test_class_executor_retry_attribute(runner: InMemoryRunner) -> None:
    from engine import Executor

    calls: list[int] = []

    class Fetch(Executor[int, int]):
        retry = NO_WAIT

        async def handle(self, message: int, ctx: StepContext) -> int:
            calls.append(ctx.attempt)
            if ctx.attempt < 2:
                raise TransientError("again")
            return message

    result = await runner.run(WorkflowBuilder("cls", start=Fetch()).build(), 7)
    assert result.outputs == [7]
    assert calls == [1, 2]


def test_delay_before() -> None:
    policy = RetryPolicy(
        first_interval=timedelta(seconds=2), backoff_coefficient=3, max_interval=timedelta(seconds=50)
    )
    assert [policy.delay_before(a).total_seconds() for a in (2, 3, 4, 5)] == [2, 6, 18, 50]


def test_the_retry_decision() -> None:
    policy = RetryPolicy(max_attempts=2, non_retryable=(KeyError,), first_interval=timedelta(seconds=3))
    assert retry_delay(policy, classify(ValueError(), policy), 1) == timedelta(seconds=3)
    assert retry_delay(policy, classify(ValueError(), policy), 2) is None  # attempts used up
    assert retry_delay(policy, classify(KeyError(), policy), 1) is None  # a non-retryable type
    assert retry_delay(policy, classify(NonRetryableError("no"), policy), 1) is None
    assert retry_delay(None, classify(ValueError(), None), 1) is None  # no policy: no retry
    late = TransientError("busy", retry_after=timedelta(seconds=30))
    assert retry_delay(policy, classify(late, policy), 1) == timedelta(seconds=30)  # Retry-After wins


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"first_interval": timedelta(seconds=-1)}, {"backoff_coefficient": 0.5}],
)
def test_invalid_policies(kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        RetryPolicy(**kwargs)


def test_delay_before_a_long_retry_series_stays_at_max_interval() -> None:
    policy = RetryPolicy(max_attempts=10_000, first_interval=timedelta(seconds=1))
    assert policy.delay_before(60) == timedelta(minutes=5)
    assert policy.delay_before(5_000) == timedelta(minutes=5)
    no_wait = RetryPolicy(max_attempts=10_000, first_interval=timedelta(0))
    assert no_wait.delay_before(5_000) == timedelta(0)


async def test_concurrent_retries_share_the_manual_timeline(clock: ManualClock) -> None:
    """Two siblings back off at once (10 s and 5 s): the clock reads 5 s, then 10 s, not 15 s."""
    runner = InMemoryRunner(clock=clock)
    slow = Flaky(TransientError("busy", retry_after=timedelta(seconds=10)), clock=clock)
    quick = Flaky(TransientError("busy", retry_after=timedelta(seconds=5)), clock=clock)
    order: list[str] = []

    # async, so both first attempts happen at once on the loop (sync ones would start in threads, whenever)
    async def slow_fn(n: int, ctx: StepContext) -> int:
        order.append("slow")
        return slow(n, ctx)

    async def quick_fn(n: int, ctx: StepContext) -> int:
        order.append("quick")
        return quick(n, ctx)

    @executor
    def split(n: int) -> int:
        return n

    policy = RetryPolicy(max_attempts=2, first_interval=timedelta(0))
    wf = (
        WorkflowBuilder("timeline", start=split)
        .add_fan_out(
            split, [executor(slow_fn, id="slow", retry=policy), executor(quick_fn, id="quick", retry=policy)]
        )
        .build()
    )
    result = await runner.run(wf, 1)

    assert result.status == "completed", result.error
    assert [(t - T0).total_seconds() for t in slow.times] == [0, 10]  # type: ignore[operator]
    assert [(t - T0).total_seconds() for t in quick.times] == [0, 5]  # type: ignore[operator]
    assert order[2:] == ["quick", "slow"]  # the one due first retries first
    assert clock.now() == T0 + timedelta(seconds=10)


async def test_a_step_that_raises_stop_iteration_fails_instead_of_hanging() -> None:
    import asyncio

    @executor(id="first_match")
    def first_match(values: list[int]) -> int:
        return next(v for v in values if v > 10)  # none is: StopIteration

    @executor(id="side")
    def side(values: list[int]) -> int:
        return len(values)

    @executor(id="fan")
    def fan(values: list[int]) -> list[int]:
        return values

    # Two steps in a superstep: each runs in a worker thread, whose StopIteration asyncio cannot carry.
    workflow = WorkflowBuilder("t_stop", start=fan).add_fan_out(fan, [first_match, side]).build()
    result = await asyncio.wait_for(InMemoryRunner().run(workflow, [1, 2]), timeout=10)
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "RuntimeError"
    assert result.error.message == "executor 'first_match' raised StopIteration"
