"""The in-memory runner: a workflow in one asyncio process, no services (built on ``engine.core``)."""

from __future__ import annotations

from engine.inmemory.runner import ApprovalResponseError, InMemoryRunner, RunResult, RunStream

__all__ = ["ApprovalResponseError", "InMemoryRunner", "RunResult", "RunStream"]
