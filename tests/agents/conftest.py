"""Fixtures of the agent tests: a clean environment, the fake model service, and a retrying driver."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from engine import InMemoryRunner, ManualClock, RunResult, WorkflowBuilder
from engine.agents import Agent
from engine.core.executor import StepContext
from engine.core.retry import classify, retry_delay
from tests.agents.fake_openai import FakeOpenAI

_PROVIDER_PREFIXES = ("OPENAI_", "AZURE_", "IDENTITY_", "MSI_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith(_PROVIDER_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI.serving() as server:
        yield server


def step_context(agent: Agent, attempt: int = 1) -> StepContext:
    return StepContext(
        workflow="w",
        instance_id="i",
        executor_id=agent.id,
        attempt=attempt,
        idempotency_key="k",
        logger=logging.getLogger("t"),
    )


@dataclass
class Attempts:
    """What ``drive`` saw: the errors of failed attempts and the context of the last one."""

    errors: list[BaseException] = field(default_factory=list)
    contexts: list[StepContext] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.contexts)


async def drive(agent: Agent, message: Any, attempts: Attempts | None = None) -> Any:
    """Run ``agent.handle`` as a runner would: retry under ``agent.retry``, without the waiting."""
    seen = attempts if attempts is not None else Attempts()
    attempt = 1
    while True:
        ctx = step_context(agent, attempt)
        seen.contexts.append(ctx)
        try:
            return await agent.handle(message, ctx)
        except Exception as err:
            seen.errors.append(err)
            assert agent.retry is not None
            if retry_delay(agent.retry, classify(err, agent.retry), attempt) is None:
                raise
            attempt += 1
            await asyncio.sleep(0)


async def run_agent(agent: Agent, message: Any, clock: ManualClock | None = None) -> RunResult:
    """``agent`` as the one step of a workflow, through the in-memory runner (on ``clock``: retries
    wait on it, not for real)."""
    workflow = WorkflowBuilder(f"{agent.id}_alone", start=agent).build()
    data = message.model_dump() if hasattr(message, "model_dump") else message
    return await InMemoryRunner(clock=clock or ManualClock()).run(workflow, data)
