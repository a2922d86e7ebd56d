"""Streams in a SQLite file (WAL): devhost's store, durable across a ``kill -9`` of the host.

Every write is its own committed transaction before it returns, so a reader (in this process or another)
only ever sees committed chunks. Waiting polls the file every ``POLL_SECONDS`` (readers and writers may be
different processes, which share no event).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TypeVar

from engine.core.streams import StreamRead, contiguous

T = TypeVar("T")

POLL_SECONDS = 0.005

_SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    instance TEXT NOT NULL, step TEXT NOT NULL, attempt INTEGER NOT NULL, writer TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (instance, step, attempt), UNIQUE (instance, step, writer));
CREATE TABLE IF NOT EXISTS chunks (
    instance TEXT NOT NULL, step TEXT NOT NULL, attempt INTEGER NOT NULL, offset INTEGER NOT NULL,
    text TEXT NOT NULL, PRIMARY KEY (instance, step, attempt, offset));
"""


class SqliteStreamStore:
    """A ``StreamStore`` in the SQLite file at ``path`` (created with its folder when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return result

    async def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._run, work)

    async def open(self, instance_id: str, step: str, writer: str) -> int:
        """See ``StreamStore.open``."""

        def work(db: sqlite3.Connection) -> int:
            row = db.execute(
                "SELECT attempt FROM streams WHERE instance=? AND step=? AND writer=?",
                (instance_id, step, writer),
            ).fetchone()
            if row is not None:
                return int(row[0])
            (newest,) = db.execute(
                "SELECT COALESCE(MAX(attempt), 0) FROM streams WHERE instance=? AND step=?",
                (instance_id, step),
            ).fetchone()
            db.execute(
                "INSERT INTO streams (instance, step, attempt, writer) VALUES (?, ?, ?, ?)",
                (instance_id, step, newest + 1, writer),
            )
            return int(newest) + 1

        return await self._call(work)

    async def append(self, instance_id: str, step: str, attempt: int, offset: int, text: str) -> bool:
        """See ``StreamStore.append``."""

        def work(db: sqlite3.Connection) -> bool:
            stored = db.execute(
                "INSERT OR IGNORE INTO chunks VALUES (?, ?, ?, ?, ?)",
                (instance_id, step, attempt, offset, text),
            ).rowcount
            if stored:
                return True
            row = db.execute(
                "SELECT text FROM chunks WHERE instance=? AND step=? AND attempt=? AND offset=?",
                (instance_id, step, attempt, offset),
            ).fetchone()
            return row is not None and row[0] == text

        return await self._call(work)

    async def finish(self, instance_id: str, step: str, attempt: int) -> None:
        """See ``StreamStore.finish``."""
        await self._call(
            lambda db: db.execute(
                "UPDATE streams SET done=1 WHERE instance=? AND step=? AND attempt=?",
                (instance_id, step, attempt),
            )
        )

    async def latest(self, instance_id: str, step: str) -> int | None:
        """See ``StreamStore.latest``."""
        row = await self._call(
            lambda db: db.execute(
                "SELECT MAX(attempt) FROM streams WHERE instance=? AND step=?", (instance_id, step)
            ).fetchone()
        )
        return None if row is None or row[0] is None else int(row[0])

    async def read(self, instance_id: str, step: str, attempt: int, after: int) -> StreamRead:
        """See ``StreamStore.read``."""

        def work(db: sqlite3.Connection) -> StreamRead:
            rows = db.execute(
                "SELECT offset, text FROM chunks WHERE instance=? AND step=? AND attempt=? AND offset>? "
                "ORDER BY offset",
                (instance_id, step, attempt, after),
            ).fetchall()
            done = db.execute(
                "SELECT done FROM streams WHERE instance=? AND step=? AND attempt=?",
                (instance_id, step, attempt),
            ).fetchone()
            return contiguous(attempt, [(int(o), str(t)) for o, t in rows], after, bool(done and done[0]))

        return await self._call(work)

    async def purge(self, instance_id: str, steps: Collection[str] | None = None) -> int:
        """See ``StreamStore.purge``."""

        def work(db: sqlite3.Connection) -> int:
            if steps is None:
                gone = db.execute("DELETE FROM chunks WHERE instance=?", (instance_id,)).rowcount
                db.execute("DELETE FROM streams WHERE instance=?", (instance_id,))
                return int(gone)
            gone = 0
            for step in steps:
                where = (instance_id, step)
                gone += db.execute("DELETE FROM chunks WHERE instance=? AND step=?", where).rowcount
                db.execute("DELETE FROM streams WHERE instance=? AND step=?", where)
            return gone

        return await self._call(work)

    async def runs(self) -> dict[str, set[str]]:
        """See ``StreamStore.runs``."""
        rows = await self._call(
            lambda db: db.execute("SELECT DISTINCT instance, step FROM streams").fetchall()
        )
        found: dict[str, set[str]] = {}
        for instance_id, step in rows:
            found.setdefault(str(instance_id), set()).add(str(step))
        return found

    def _mark(self, instance_id: str, step: str) -> tuple[int, int, int]:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(MAX(attempt), 0), COALESCE(SUM(done), 0) FROM streams "
                "WHERE instance=? AND step=?",
                (instance_id, step),
            ).fetchone()
            (chunks,) = self._db.execute(
                "SELECT COUNT(*) FROM chunks WHERE instance=? AND step=? AND attempt=?",
                (instance_id, step, row[1]),
            ).fetchone()
        return int(row[0]) * 1_000_003 + int(row[2]), int(row[1]), int(chunks)

    async def wait_change(self, instance_id: str, step: str, timeout: float) -> None:
        """See ``StreamStore.wait_change``: polls the file."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        before = await asyncio.to_thread(self._mark, instance_id, step)
        while loop.time() < deadline:
            await asyncio.sleep(min(POLL_SECONDS, max(deadline - loop.time(), 0)))
            if await asyncio.to_thread(self._mark, instance_id, step) != before:
                return

    def close(self) -> None:
        """Close the file."""
        self._db.close()


__all__ = ["SqliteStreamStore"]
