"""The orders server's ledger: every call it received, every refund it made (SQLite, one file).

Several server processes write it at once (a stdio server is started per tool call), so every write is
its own short transaction on a WAL database: what a call recorded before a ``kill -9`` is there after it.
A refund is keyed by its idempotency key (``INSERT OR IGNORE``): the second delivery of one call finds the
first refund and answers with it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SETTING = "ORDERS_MCP_LEDGER"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    tool TEXT NOT NULL,
    idempotency_key TEXT,
    arguments TEXT NOT NULL,
    repeat INTEGER NOT NULL DEFAULT 0  -- 1: this key was received before (a call delivered again)
);
CREATE TABLE IF NOT EXISTS refunds (
    idempotency_key TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    amount REAL NOT NULL,
    refund_id TEXT NOT NULL,
    at REAL NOT NULL
);
"""


def default_path() -> Path:
    configured = os.environ.get(SETTING, "").strip()
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "orders-mcp-ledger.sqlite"


@dataclass(frozen=True)
class Counts:
    calls: int  # every call received
    repeated_calls: int  # calls whose idempotency key had been received before
    refunds: int  # refunds made (one per key)
    duplicate_refunds: int  # orders refunded more than once for one key: always 0 (the key is unique)
    orders_refunded_twice: int  # orders refunded under two keys (two calls, not one delivered twice)


class Ledger:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    def call(self, tool: str, key: str | None, arguments: dict[str, Any]) -> None:
        """Record one call as received (before the server acts on it)."""
        with self._db() as db:
            seen = (
                key is not None
                and db.execute(
                    "SELECT 1 FROM calls WHERE idempotency_key = ? AND tool = ? LIMIT 1", (key, tool)
                ).fetchone()
            )
            db.execute(
                "INSERT INTO calls (at, tool, idempotency_key, arguments, repeat) VALUES (?, ?, ?, ?, ?)",
                (time.time(), tool, key, json.dumps(arguments, sort_keys=True), 1 if seen else 0),
            )

    def refund(self, key: str, order_id: str, amount: float, refund_id: str) -> tuple[str, float]:
        """Make the refund of ``key`` once; the (refund id, amount) of the one made."""
        with self._db() as db:
            db.execute(
                "INSERT OR IGNORE INTO refunds (idempotency_key, order_id, amount, refund_id, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, order_id, amount, refund_id, time.time()),
            )
            row = db.execute(
                "SELECT refund_id, amount FROM refunds WHERE idempotency_key = ?", (key,)
            ).fetchone()
        return str(row[0]), float(row[1])

    def calls(self) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute(
                "SELECT tool, idempotency_key, arguments, repeat FROM calls ORDER BY id"
            ).fetchall()
        return [{"tool": t, "key": k, "arguments": json.loads(a), "repeat": bool(r)} for t, k, a, r in rows]

    def calls_with_times(self) -> list[dict[str, Any]]:
        """Every call as received, with its time (seconds since the epoch), in the order received."""
        with self._db() as db:
            rows = db.execute("SELECT at, tool, idempotency_key, repeat FROM calls ORDER BY id").fetchall()
        return [{"at": at, "tool": t, "key": k, "repeat": bool(r)} for at, t, k, r in rows]

    def refunds(self) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute(
                "SELECT idempotency_key, order_id, amount, refund_id FROM refunds ORDER BY at"
            ).fetchall()
        return [{"key": k, "order_id": o, "amount": a, "refund_id": r} for k, o, a, r in rows]

    def counts(self) -> Counts:
        with self._db() as db:
            calls, repeated = db.execute("SELECT COUNT(*), COALESCE(SUM(repeat), 0) FROM calls").fetchone()
            refunds = db.execute("SELECT COUNT(*) FROM refunds").fetchone()[0]
            twice = db.execute(
                "SELECT COUNT(*) FROM (SELECT order_id FROM refunds GROUP BY order_id HAVING COUNT(*) > 1)"
            ).fetchone()[0]
        return Counts(int(calls), int(repeated), int(refunds), 0, int(twice))


def main(argv: list[str]) -> int:
    ledger = Ledger(argv[0] if argv else None)
    print(json.dumps(ledger.counts().__dict__, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
