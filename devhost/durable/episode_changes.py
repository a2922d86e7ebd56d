"""What one orchestrator episode changes, collected for a single commit: the batch (records, history,
work), the host-side history events, the book, and the lines to log once committed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from devhost.config.host_settings import HostSettings
from devhost.durable.replay_bookkeeping import Book
from devhost.durable.task_hub_store import Batch, InstanceRecord, WorkItem


class EpisodeHost(Protocol):
    """The little an episode asks of the task hub that runs it."""

    settings: HostSettings

    def alloc_work_id(self) -> int:
        """A new work item id."""

    def get_record(self, instance_id: str) -> InstanceRecord | None:
        """An instance's record, with changes not committed yet."""

    def has_orchestrator(self, name: str) -> bool:
        """Whether the app has this orchestrator function (in any case)."""

    def has_entity(self, name: str) -> bool:
        """Whether the app has this entity function (in any case)."""


@dataclass
class Note:
    """A state change to log once the episode is committed."""

    instance_id: str
    name: str
    what: str


@dataclass
class EpisodeChanges:
    """What one episode changes: the batch it commits, the instance's record and book, its host-side
    events, the lines to log."""

    host: EpisodeHost
    record: InstanceRecord
    book: Book  # a new execution (continue-as-new) gets a new book
    now: datetime
    batch: Batch = field(default_factory=Batch)
    events: list[dict[str, Any]] = field(default_factory=list)  # host-side, recorded after the delivered ones
    notes: list[Note] = field(default_factory=list)
    reset_history: bool = False  # a new execution starts with an empty history

    def work(
        self, instance_id: str, kind: str, payload: dict[str, Any], due: datetime | None = None
    ) -> WorkItem:
        """Queue work in this episode's batch, due at ``due`` (None: now)."""
        item = WorkItem(
            self.host.alloc_work_id(), instance_id, kind, payload, due.timestamp() if due else None
        )
        self.batch.add_work.append(item)
        return item

    def message_self(self, ev: dict[str, Any], due: datetime | None = None) -> WorkItem:
        """Queue an event for this instance's current execution (due: not before then)."""
        rec = self.record
        return self.work(rec.instance_id, "msg", {"event": ev, "execution_id": rec.execution_id}, due)

    def note(self, what: str) -> None:
        """A state change of the instance to log once committed."""
        self.notes.append(Note(self.record.instance_id, self.record.name, what))

    def next_task_id(self) -> int:
        """The next task id, as the SDK numbers its actions."""
        tid = self.book.seq
        self.book.seq += 1
        return tid
