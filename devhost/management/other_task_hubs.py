"""Management requests that name another task hub than the app's (the ``taskHub`` query parameter).

The extension hands such a request to a client of the task hub it names (HttpApiHandler.GetClient: the
``taskHub`` parameter, in any case, unless blank; DurableClient.GetDurableClient compares hub names with
OrdinalIgnoreCase), which reads and writes that hub's storage, not the app's. An instance of the app's hub
is not there: a status query answers 404 and a list is empty. devhost holds one task hub, the app's, so
another one is empty to it, and it refuses to start orchestrations or signal entities there (501): no
host of this app would run them, and devhost keeps no other hub to hold them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devhost.durable.task_hub import ListFilter, TaskHubError
from devhost.durable.task_hub_store import EntityRecord, InstanceRecord

PARAMETER = "taskHub"


def requested_task_hub(query: Mapping[str, str]) -> str | None:
    """The task hub a request names, None when it names none (a blank value names none)."""
    for key, value in query.items():
        if key.lower() == PARAMETER.lower() and value.strip():
            return value
    return None


def is_other_task_hub(requested: str | None, app_hub: str) -> bool:
    """Whether a request's ``taskHub`` names a hub other than the app's (compared in any case)."""
    return requested is not None and requested.lower() != app_hub.lower()


class OtherTaskHub:
    """A task hub other than the app's, as devhost sees it: empty, and not one it writes to."""

    def __init__(self, name: str, app_hub: str) -> None:
        self.name = name
        self.app_hub = app_hub

    def _where(self) -> str:
        return f"task hub '{self.name}' (devhost holds one task hub, the app's: '{self.app_hub}')"

    def _refused(self, what: str) -> TaskHubError:
        return TaskHubError(
            501,
            f"devhost cannot {what} in {self._where()}. The Durable extension would write it to that hub's "
            "storage, for the app that serves that hub; drop the taskHub parameter or name the app's hub.",
        )

    def start_new(
        self, name: str, instance_id: str | None, input_text: str | None, version: str | None = None
    ) -> InstanceRecord:
        """Refused (501): devhost writes to no hub but the app's."""
        raise self._refused(f"start the orchestration '{name}'")

    def signal_entity(self, name: str, key: str, op: str, input_text: str | None) -> None:
        """Refused (501): devhost writes to no hub but the app's."""
        raise self._refused(f"signal the entity '@{name.lower()}@{key}'")

    def record(self, instance_id: str) -> InstanceRecord | None:
        """None: the hub holds no instance."""
        return None

    def history(self, iid: str) -> list[dict[str, Any]]:
        """Empty: the hub holds no instance."""
        return []

    def list(self, flt: ListFilter) -> list[InstanceRecord]:
        """Empty: the hub holds no instance."""
        return []

    async def purge(self, iids: list[str]) -> int:
        """Nothing to purge."""
        return 0

    def _missing(self, iid: str) -> TaskHubError:
        return TaskHubError(404, f"No instance with ID '{iid}' found in {self._where()}.")

    def require(self, iid: str, *, live: bool) -> InstanceRecord:
        """A 404 naming this hub: it holds no instance."""
        raise self._missing(iid)

    def raise_event(self, iid: str, name: str, input_text: str | None) -> None:
        """A 404 naming this hub: it holds no instance."""
        raise self._missing(iid)

    def control(self, iid: str, op: str, reason: str) -> None:
        """A 404 naming this hub: it holds no instance."""
        raise self._missing(iid)

    def rewind(self, iid: str, reason: str) -> None:
        """A 404 naming this hub: it holds no instance."""
        raise self._missing(iid)

    def restart(self, iid: str, new_instance_id: bool) -> str:
        """A 404 naming this hub: it holds no instance."""
        raise self._missing(iid)

    def entity(self, name: str, key: str) -> EntityRecord | None:
        """None: the hub holds no entity."""
        return None

    def list_entities(self) -> list[EntityRecord]:
        """Empty: the hub holds no entity."""
        return []
