"""Fixtures of the engine tests: a manual clock and a runner on it."""

import pytest

from engine import InMemoryRunner, ManualClock
from tests.engine.helpers import T0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def runner(clock: ManualClock) -> InMemoryRunner:
    return InMemoryRunner(clock=clock)
