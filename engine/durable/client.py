"""THE seam to a durable backend's client: what the app asks of the task hub from outside a run.

``OrchestrationContext`` (``engine.durable.context``) is what a run's orchestrator sees; ``DurableClient`` is
what the HTTP API sees: start an instance, read its status and its history, raise an event, terminate,
rewind, purge, and list instances page by page. Each backend is one adapter of this protocol:
azure-functions-durable's client (``engine.functions.azure_client``), and durabletask-python's. Values
are our own types (``InstanceStatus``, ``HistoryEvent``), never an SDK's, so a handler reads the same way
on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from engine.durable.history import HistoryEvent
from engine.durable.phase import FINISHED


@dataclass(frozen=True, slots=True)
class InstanceStatus:
    """One orchestration instance as its backend reports it. ``runtime`` is the runtime status's name
    (``Running``, ``Completed``, ...); ``input``, ``output`` and ``custom_status`` are decoded JSON."""

    instance_id: str
    name: str
    runtime: str
    created: datetime | None = None
    updated: datetime | None = None
    input: Any = None
    output: Any = None
    custom_status: Any = None

    @property
    def finished(self) -> bool:
        """Whether the instance has finished (completed, failed or terminated) and will not change again."""
        return self.runtime in FINISHED


@dataclass(frozen=True, slots=True)
class InstanceHistory:
    """An instance's status and the recorded history of its current execution (outputs included)."""

    status: InstanceStatus
    events: list[HistoryEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class InstancePage:
    """One page of an instance listing, and the token of the next (None: the last page)."""

    instances: list[InstanceStatus]
    continuation: str | None = None


class RefusedByBackend(Exception):
    """The backend refused a command (a rewind of a run that cannot be rewound, an event to an instance
    that is gone): the message is its reason."""


class DurableClient(Protocol):
    """What the app asks of a durable backend from outside a run (all async: handlers await it)."""

    async def start(self, name: str, instance_id: str | None, input_: Any) -> str:
        """Start orchestration ``name``; its instance id (chosen by the backend when None)."""
        ...

    async def status(self, instance_id: str, *, with_input: bool = False) -> InstanceStatus | None:
        """The instance's status, or None when there is no such instance."""
        ...

    async def history(self, instance_id: str) -> InstanceHistory | None:
        """The instance's status with input and the history of its current execution (outputs included),
        read in as many pages as the backend needs; None when there is no such instance."""
        ...

    async def raise_event(self, instance_id: str, name: str, data: Any) -> None:
        """Raise event ``name`` with ``data`` (JSON-able) to the instance."""

    async def terminate(self, instance_id: str, reason: str) -> None:
        """Terminate the instance, recording ``reason``."""

    async def rewind(self, instance_id: str, reason: str) -> None:
        """Rewind a failed instance; ``RefusedByBackend`` when the backend cannot (with its reason)."""
        ...

    async def purge(self, instance_id: str) -> None:
        """Delete the instance and its history from the task hub."""

    async def list_page(
        self,
        statuses: Sequence[str] = (),
        *,
        continuation: str | None = None,
        with_input: bool = False,
        prefix: str | None = None,
    ) -> InstancePage:
        """One page of the instances whose runtime status is in ``statuses`` (every one when empty), and
        whose instance id starts with ``prefix`` when one is given."""
        ...

    def management_links(self, instance_id: str) -> dict[str, str]:
        """The backend's own URLs for one instance, for a start's answer (status, events, terminate,
        purge, ...); none where the backend has no HTTP management API."""
        ...


async def all_instances(
    client: DurableClient,
    statuses: Sequence[str] = (),
    *,
    with_input: bool = False,
    prefix: str | None = None,
) -> list[InstanceStatus]:
    """Every instance whose runtime status is in ``statuses`` (and whose id starts with ``prefix``),
    following the continuation tokens."""
    found: list[InstanceStatus] = []
    continuation: str | None = None
    while True:
        page = await client.list_page(
            statuses, continuation=continuation, with_input=with_input, prefix=prefix
        )
        found.extend(page.instances)
        if not page.continuation or page.continuation == continuation:
            return found
        continuation = page.continuation


__all__ = [
    "DurableClient",
    "InstanceHistory",
    "InstancePage",
    "InstanceStatus",
    "RefusedByBackend",
    "all_instances",
]
