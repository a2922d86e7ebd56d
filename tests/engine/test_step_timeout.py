"""Per-step timeouts in memory: a slow attempt is abandoned and retried under the step's policy; the
abandoned attempt may still finish, and the step's idempotency key keeps its side effect single."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from engine import InMemoryRunner, executor
from tests.durable import maps


async def test_a_slow_attempt_is_retried_and_the_next_one_succeeds() -> None:
    maps.LEDGER.clear()
    maps.FINISHED.clear()
    runner = InMemoryRunner([maps.timed])
    result = await runner.run(maps.timed, {"key": "k", "seconds": [1.0, 0.0]})
    assert result.status == "completed" and result.outputs == ["k done on attempt 2"]
    failed = [e for e in result.events if e.kind == "executor_failed"]
    assert len(failed) == 1 and "StepTimedOut" in (failed[0].error or "")
    await asyncio.sleep(1.1)  # the abandoned first attempt finishes now, after the run completed
    (applied,) = maps.LEDGER.values()
    assert sorted(maps.FINISHED) == [1, 2], "the abandoned attempt ran to its end"
    assert applied == [2], "and found its side effect applied under the same key"


async def test_every_attempt_too_slow_fails_the_run_naming_the_timeout() -> None:
    runner = InMemoryRunner([maps.timed])
    result = await runner.run(maps.timed, {"key": "k", "seconds": [1.0]})
    assert result.status == "failed" and result.error is not None
    assert result.error.type == "StepTimedOut" and "timeout of 0.3 s" in result.error.message


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout must be a positive timedelta"):

        @executor(timeout=timedelta(0))
        def nope(x: int) -> int:
            return x
