"""Small helpers shared by the engine tests."""

from collections.abc import Iterable
from datetime import UTC, datetime

from engine import RunEvent, RunResult

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def kinds(events: Iterable[RunEvent]) -> list[str]:
    return [e.kind for e in events]


def started(result: RunResult) -> list[str]:
    """Executor ids in the order their first attempts started."""
    return [e.executor_id for e in result.events if e.kind == "executor_started" and e.attempt == 1]


def supersteps_of(result: RunResult, executor_id: str) -> list[int]:
    """The supersteps in which ``executor_id`` ran (first attempts)."""
    return [
        e.superstep
        for e in result.events
        if e.kind == "executor_started" and e.executor_id == executor_id and e.attempt == 1
    ]
