"""An optional side-effect ledger that survives ``kill -9``: the record crash campaigns audit.

When the app setting ``SIDE_EFFECT_LEDGER`` names a SQLite file, side-effecting steps record

- each *side effect* once per ``(idempotency_key, executor)`` with ``INSERT OR IGNORE``, keeping the
  result of the first execution so a re-executed step returns what the first one decided, and
- each *execution* of the step (a row per attempt, replays and re-runs after a crash included), opened
  before the step's work and closed after it, so an audit can count re-executions and the executions a
  crash interrupted.

Without the setting the ledger is off and steps keep their in-process behaviour (see
``executors.orders.CANCELLATION_LEDGER``). Every write is its own transaction,
so what a step recorded before the process was killed is there after it (WAL, as devhost's store).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine import StepContext

SETTING = "SIDE_EFFECT_LEDGER"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS side_effects (
    idempotency_key TEXT NOT NULL,
    executor TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (idempotency_key, executor)
);
CREATE TABLE IF NOT EXISTS executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL,
    executor TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'running'  -- running, done, failed, interrupted (an audit, after a kill)
);
CREATE INDEX IF NOT EXISTS executions_by_key ON executions (idempotency_key, executor);
"""


@dataclass(frozen=True)
class LedgerCounts:
    side_effects: int
    executions: int
    distinct_steps: int
    running: int
    interrupted: int

    @property
    def re_executions(self) -> int:
        """Executions beyond the first of each step (retries, replays, re-runs after a crash)."""
        return self.executions - self.distinct_steps


class SideEffectLedger:
    """The SQLite ledger. One short connection per call: steps run on many threads, in one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives kill -9
            yield db
        finally:
            db.close()

    # --- what steps call ------------------------------------------------------------------------------

    def begin(self, ctx: StepContext) -> int:
        """Count one execution of the step; it stays 'running' if the process dies before ``end``."""
        with self._connect() as db:
            row = db.execute(
                "INSERT INTO executions (idempotency_key, executor, instance_id, attempt) "
                "VALUES (?, ?, ?, ?)",
                (ctx.idempotency_key, ctx.executor_id, ctx.instance_id, ctx.attempt),
            ).lastrowid
        assert row is not None
        return row

    def end(self, execution: int, *, ok: bool = True) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE executions SET state = ? WHERE id = ?", ("done" if ok else "failed", execution)
            )

    @contextmanager
    def execution(self, ctx: StepContext) -> Iterator[None]:
        """``begin`` ... ``end`` around a step's work."""
        row = self.begin(ctx)
        ok = False
        try:
            yield
            ok = True
        finally:
            self.end(row, ok=ok)

    def once(self, ctx: StepContext, result: str) -> str:
        """Record the step's side effect unless recorded already; the first execution's result wins."""
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO side_effects (idempotency_key, executor, instance_id, result) "
                "VALUES (?, ?, ?, ?)",
                (ctx.idempotency_key, ctx.executor_id, ctx.instance_id, result),
            )
            (stored,) = db.execute(
                "SELECT result FROM side_effects WHERE idempotency_key = ? AND executor = ?",
                (ctx.idempotency_key, ctx.executor_id),
            ).fetchone()
        return str(stored)

    # --- what audits call -----------------------------------------------------------------------------

    def mark_interrupted(self) -> int:
        """After a kill: executions left 'running' were cut short. Returns how many."""
        with self._connect() as db:
            return db.execute("UPDATE executions SET state = 'interrupted' WHERE state = 'running'").rowcount

    def counts(self, executor: str | None = None) -> LedgerCounts:
        """Every step's counts, or those of one ``executor``'s steps."""
        where, args = ("WHERE executor = ?", (executor,)) if executor is not None else ("", ())
        with self._connect() as db:
            (effects,) = db.execute(f"SELECT COUNT(*) FROM side_effects {where}", args).fetchone()
            executions, running, interrupted = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(state = 'running'), 0), "
                f"COALESCE(SUM(state = 'interrupted'), 0) FROM executions {where}",
                args,
            ).fetchone()
            (distinct,) = db.execute(
                f"SELECT COUNT(*) FROM (SELECT DISTINCT idempotency_key, executor FROM executions {where})",
                args,
            ).fetchone()
        return LedgerCounts(effects, executions, distinct, running, interrupted)

    def effects_by_instance(self) -> dict[tuple[str, str], int]:
        """``(instance id, executor) -> side effects recorded``."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT instance_id, executor, COUNT(*) FROM side_effects GROUP BY instance_id, executor"
            ).fetchall()
        return {(iid, executor): n for iid, executor, n in rows}

    def results_by_instance(self, executor: str) -> dict[str, list[str]]:
        """``instance id -> the recorded results`` of ``executor``'s side effects (one per effect)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT instance_id, result FROM side_effects WHERE executor = ? ORDER BY instance_id, rowid",
                (executor,),
            ).fetchall()
        out: dict[str, list[str]] = {}
        for iid, result in rows:
            out.setdefault(iid, []).append(result)
        return out

    def executions_without_effect(self, executors: set[str]) -> list[tuple[str, str]]:
        """Steps of ``executors`` that completed an execution but recorded no side effect (a bug)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT DISTINCT e.idempotency_key, e.executor FROM executions e "
                "LEFT JOIN side_effects s ON s.idempotency_key = e.idempotency_key "
                "AND s.executor = e.executor WHERE e.state = 'done' AND s.result IS NULL"
            ).fetchall()
        return [(key, executor) for key, executor in rows if executor in executors]


_ledgers: dict[str, SideEffectLedger] = {}
_lock = threading.Lock()


def configured_ledger() -> SideEffectLedger | None:
    """The ledger the ``SIDE_EFFECT_LEDGER`` app setting names, or None when it is not set."""
    path = os.environ.get(SETTING, "").strip()
    if not path:
        return None
    with _lock:
        ledger = _ledgers.get(path)
        if ledger is None:
            ledger = _ledgers[path] = SideEffectLedger(path)
        return ledger
