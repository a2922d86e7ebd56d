"""Fixtures of the demo tests: no model provider from the shell, a manual clock, a runner on it."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from engine import InMemoryRunner, ManualClock

T0 = datetime(2030, 1, 1, tzinfo=UTC)
_PROVIDER_PREFIXES = ("OPENAI_", "AZURE_OPENAI_")


@pytest.fixture(autouse=True)
def offline_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Agents answer with the deterministic offline model, whatever the developer's shell configures."""
    for name in list(os.environ):
        if name.startswith(_PROVIDER_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def runner(clock: ManualClock) -> InMemoryRunner:
    return InMemoryRunner(clock=clock)
