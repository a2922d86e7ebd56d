"""What the durable management API (webhooks and the SDK client's endpoint) asks of a task hub: the app's
own (``task_hub.TaskHub``), or another one a request names (``other_task_hubs.OtherTaskHub``)."""

from __future__ import annotations

from typing import Any, Protocol

from devhost.durable.task_hub import ListFilter
from devhost.durable.task_hub_store import EntityRecord, InstanceRecord


class TaskHubClient(Protocol):
    """The task hub calls the management API makes; a ``TaskHubError`` is answered with its status."""

    def start_new(
        self, name: str, instance_id: str | None, input_text: str | None, version: str | None = None
    ) -> InstanceRecord:
        """Start orchestration ``name`` (under ``instance_id``, or a new id) on ``version`` or the default."""

    def record(self, instance_id: str) -> InstanceRecord | None:
        """The instance's record, or None."""

    def history(self, iid: str) -> list[dict[str, Any]]:
        """The instance's history events."""

    def list(self, flt: ListFilter) -> list[InstanceRecord]:
        """The instances the filter lets through, in the list's order."""

    async def purge(self, iids: list[str]) -> int:
        """Delete these instances; how many there were."""

    def raise_event(self, iid: str, name: str, input_text: str | None) -> None:
        """Queue an event for a live instance."""

    def require(self, iid: str, *, live: bool) -> InstanceRecord:
        """The instance's record; a 404 without one, a 410 when ``live`` and it has finished."""

    def control(self, iid: str, op: str, reason: str) -> None:
        """Queue a terminate, suspend or resume for a live instance."""

    def rewind(self, iid: str, reason: str) -> None:
        """Rewind a failed instance."""

    def restart(self, iid: str, new_instance_id: bool) -> str:
        """Restart the instance (under a new id when asked); the id it runs under."""

    def signal_entity(self, name: str, key: str, op: str, input_text: str | None) -> None:
        """Queue operation ``op`` for entity ``@name@key``."""

    def entity(self, name: str, key: str) -> EntityRecord | None:
        """The entity's record, or None."""

    def list_entities(self) -> list[EntityRecord]:
        """Every entity's record."""
