"""Durable state: instances, histories and the work queue, behind one small interface.

The task hub keeps the live state in memory (a hot cache) and hands the store one `Batch` per
episode, so every episode is a single transaction. `SqliteStore` makes that durable (WAL,
synchronous=NORMAL); `MemoryStore` runs the same code paths without a file.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from devhost.config.errors import DevHostError


@dataclass
class InstanceRecord:
    """An orchestration instance as the store keeps it: its status, input, output and custom status as JSON
    text, its parent, its replay bookkeeping."""

    instance_id: str
    name: str
    execution_id: str
    status: str  # Pending, Running, Completed, ContinuedAsNew, Failed, Terminated, Suspended
    input: str | None  # JSON text of the input value
    output: str | None = None  # JSON text
    custom_status: str | None = None  # JSON text
    created: str = ""
    updated: str = ""
    parent: dict[str, Any] | None = None  # {instance_id, execution_id, task_id}
    book: dict[str, Any] = field(default_factory=dict)  # replay bookkeeping (see orchestration.Book)
    version: str | None = None  # the orchestration version, fixed when the instance is created

    def to_json(self) -> str:
        """The record as JSON text."""
        # json.dumps(asdict(self)) without asdict's deep copy: the fields are JSON data already.
        return json.dumps({name: getattr(self, name) for name in _RECORD_FIELDS})

    @classmethod
    def from_json(cls, text: str) -> InstanceRecord:
        """A record back from its JSON text."""
        return cls(**json.loads(text))


_RECORD_FIELDS = tuple(InstanceRecord.__dataclass_fields__)


@dataclass
class EntityRecord:
    """A durable entity's state between batches (its instance id is ``@name@key``)."""

    instance_id: str
    name: str  # lower case, as in the instance id
    key: str
    exists: bool = False
    state: str | None = None  # JSON text, as the entity function wrote it
    last_operation: str = ""  # when its last batch ran (fmt_time)

    def to_json(self) -> str:
        """The record as JSON text."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> EntityRecord:
        """A record back from its JSON text."""
        return cls(**json.loads(text))


@dataclass
class WorkItem:
    """Queued work: a message for an instance, an activity to run, or an operation for an entity."""

    id: int
    instance_id: str
    kind: str  # "msg" (a message for an instance), "activity", or "entity" (an operation for an entity)
    payload: dict[str, Any]
    due: float | None = None  # epoch seconds on the host clock; None = now


@dataclass
class Batch:
    """Everything one commit writes: instance records, purges, history appended (or reset), work added and
    deleted, entity records."""

    instances: dict[str, InstanceRecord] = field(default_factory=dict)
    purge: set[str] = field(default_factory=set)
    history: dict[str, tuple[bool, list[dict[str, Any]]]] = field(default_factory=dict)  # reset?, new events
    add_work: list[WorkItem] = field(default_factory=list)
    del_work: list[int] = field(default_factory=list)
    entities: dict[str, EntityRecord] = field(default_factory=dict)

    def append_history(self, instance_id: str, events: list[dict[str, Any]], *, reset: bool = False) -> None:
        """Append events to an instance's history in this commit; ``reset`` replaces the history first."""
        old_reset, old = self.history.get(instance_id, (False, []))
        if reset:
            self.history[instance_id] = (True, list(events))
        else:
            self.history[instance_id] = (old_reset, old + list(events))

    def merge(self, other: Batch) -> None:
        """Fold a later batch into this one, as if both were committed in order."""
        self.instances.update(other.instances)
        self.purge |= other.purge
        for iid, (reset, events) in other.history.items():
            self.append_history(iid, events, reset=reset)
        self.add_work.extend(other.add_work)
        self.del_work.extend(other.del_work)
        self.entities.update(other.entities)

    def empty(self) -> bool:
        """Whether the batch writes nothing."""
        return not (
            self.instances or self.purge or self.history or self.add_work or self.del_work or self.entities
        )


@dataclass
class Loaded:
    """What a store holds at start: the instances, the queued work, the entities."""

    instances: dict[str, InstanceRecord]
    work: list[WorkItem]
    entities: dict[str, EntityRecord] = field(default_factory=dict)


class Store(Protocol):
    """Where the task hub's state is kept: read whole at start, then changed one transaction at a time."""

    def load(self) -> Loaded:
        """Every instance, queued work item (in id order) and entity."""

    def load_history(self, instance_id: str) -> list[dict[str, Any]]:
        """One instance's history, in order."""

    def commit(self, batch: Batch) -> None:
        """Write one batch, all of it or nothing."""

    def close(self) -> None:
        """Release the store's resources."""


class MemoryStore:
    """A store in memory, keeping JSON text as SQLite does: the same code paths without a file."""

    def __init__(self) -> None:
        self._instances: dict[str, str] = {}
        self._history: dict[str, list[str]] = {}
        self._work: dict[int, str] = {}
        self._entities: dict[str, str] = {}

    def load(self) -> Loaded:
        """Every instance, queued work item and entity, decoded afresh."""
        return Loaded(
            {k: InstanceRecord.from_json(v) for k, v in self._instances.items()},
            [WorkItem(**json.loads(v)) for v in self._work.values()],
            {k: EntityRecord.from_json(v) for k, v in self._entities.items()},
        )

    def load_history(self, instance_id: str) -> list[dict[str, Any]]:
        """One instance's history, decoded afresh."""
        return [json.loads(e) for e in self._history.get(instance_id, [])]

    def commit(self, batch: Batch) -> None:
        """Apply one batch, in the SQLite store's order."""
        # Serialise like the SQLite store so both stores see identical (JSON-only) data.
        for iid in batch.purge:
            self._instances.pop(iid, None)
            self._history.pop(iid, None)
            self._work = {k: v for k, v in self._work.items() if json.loads(v)["instance_id"] != iid}
        for iid, (reset, events) in batch.history.items():
            target = [] if reset else self._history.get(iid, [])
            target.extend(json.dumps(e) for e in events)
            self._history[iid] = target
        for iid, rec in batch.instances.items():
            self._instances[iid] = rec.to_json()
        for wid in batch.del_work:
            self._work.pop(wid, None)
        for item in batch.add_work:
            self._work[item.id] = json.dumps(asdict(item))
        for eid, entity in batch.entities.items():
            self._entities[eid] = entity.to_json()

    def close(self) -> None:
        """Nothing to release."""
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_instance ON history (instance_id, seq);
CREATE TABLE IF NOT EXISTS work (
    id INTEGER PRIMARY KEY,
    instance_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    due REAL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (
    instance_id TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
"""


class SqliteStore:
    """The state file: SQLite in WAL mode, one transaction per batch, so a commit survives a process kill."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Used from the host's event-loop thread only; the flag lets the opening thread differ.
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives a process kill (kill -9), fsync at checkpoints.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise DevHostError(f"cannot open state file {path}: {exc}") from None

    def load(self) -> Loaded:
        """Every instance, queued work item (in id order) and entity from the file."""
        instances = {
            iid: InstanceRecord.from_json(rec)
            for iid, rec in self._db.execute("SELECT instance_id, record FROM instances")
        }
        work = [
            WorkItem(id=wid, instance_id=iid, kind=kind, due=due, payload=json.loads(payload))
            for wid, iid, kind, due, payload in self._db.execute(
                "SELECT id, instance_id, kind, due, payload FROM work ORDER BY id"
            )
        ]
        entities = {
            eid: EntityRecord.from_json(rec)
            for eid, rec in self._db.execute("SELECT instance_id, record FROM entities")
        }
        return Loaded(instances, work, entities)

    def load_history(self, instance_id: str) -> list[dict[str, Any]]:
        """One instance's history from the file, in order."""
        rows = self._db.execute(
            "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,)
        )
        return [json.loads(r[0]) for r in rows]

    def commit(self, batch: Batch) -> None:
        """Write one batch in a single transaction (rolled back whole when any statement fails)."""
        db = self._db
        db.execute("BEGIN")
        try:
            if batch.purge:
                ids = [(i,) for i in batch.purge]
                db.executemany("DELETE FROM instances WHERE instance_id = ?", ids)
                db.executemany("DELETE FROM history WHERE instance_id = ?", ids)
                db.executemany("DELETE FROM work WHERE instance_id = ?", ids)
            for iid, (reset, events) in batch.history.items():
                if reset:
                    db.execute("DELETE FROM history WHERE instance_id = ?", (iid,))
                db.executemany(
                    "INSERT INTO history (instance_id, event) VALUES (?, ?)",
                    [(iid, json.dumps(e)) for e in events],
                )
            db.executemany(
                "INSERT OR REPLACE INTO instances (instance_id, record) VALUES (?, ?)",
                [(iid, rec.to_json()) for iid, rec in batch.instances.items()],
            )
            if batch.del_work:
                db.executemany("DELETE FROM work WHERE id = ?", [(w,) for w in batch.del_work])
            db.executemany(
                "INSERT OR REPLACE INTO work (id, instance_id, kind, due, payload) VALUES (?, ?, ?, ?, ?)",
                [(w.id, w.instance_id, w.kind, w.due, json.dumps(w.payload)) for w in batch.add_work],
            )
            db.executemany(
                "INSERT OR REPLACE INTO entities (instance_id, record) VALUES (?, ?)",
                [(eid, entity.to_json()) for eid, entity in batch.entities.items()],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the database."""
        self._db.close()
