"""A state file written by an earlier devhost still loads and runs on: the replay book's JSON keeps its
shape (the retry book is typed in memory, stored as the same JSON object)."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

from devhost.durable.call_retries import RetryState
from devhost.durable.replay_bookkeeping import Book
from devhost.durable.task_hub_store import SqliteStore
from devhost.testing import run_devhost
from tests.devhost.helpers import APPS, finished, status

DATA = Path(__file__).parent / "data"


def _state_file(path: Path, rows: dict) -> Path:
    SqliteStore(path).close()  # the schema
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO instances (instance_id, record) VALUES (?, ?)", rows["instances"])
        db.executemany("INSERT INTO history (instance_id, event) VALUES (?, ?)", rows["history"])
        db.executemany(
            "INSERT INTO work (id, instance_id, kind, due, payload) VALUES (?, ?, ?, ?, ?)", rows["work"]
        )
    return path


def test_the_book_round_trips_to_the_same_json():
    rows = json.loads((DATA / "state_before_typed_retries.json").read_text())
    book = json.loads(rows["instances"][0][1])["book"]
    loaded = Book.from_dict(book)
    assert isinstance(loaded.retries["1"], RetryState) and loaded.retries["1"].phase == "waiting"
    assert json.dumps(loaded.to_dict()) == json.dumps(book)
    timed_out = {**book["retries"]["1"], "timed_out": True}
    assert json.dumps(RetryState.from_json(timed_out).to_json()) == json.dumps(timed_out)
    assert Book.from_dict({}).to_dict() == Book().to_dict()


def test_an_instance_waiting_for_its_retry_in_an_old_state_file_runs_on(tmp_path):
    rows = json.loads((DATA / "state_before_typed_retries.json").read_text())
    state = _state_file(tmp_path / "state.sqlite", rows)
    with run_devhost(APPS / "durable_basic", state=state) as host:
        for _ in range(2):  # past the stored backoff timer, then past the one after the last attempt
            host.clock.advance(timedelta(minutes=2))
            host.wait_until_idle()
        done = finished(host, "old-retry")
        events = status(host, "old-retry", "?showHistory=true").json["historyEvents"]
    # The second and last attempt (max 2) ran after the stored backoff timer fired, and failed too.
    assert done["runtimeStatus"] == "Failed" and "boom: slowly" in done["output"]
    kinds = [e["EventType"] for e in events]
    assert kinds.count("TaskFailed") == 2 and kinds.count("TimerFired") == 2
    assert [e["TimerId"] for e in events if e["EventType"] == "TimerFired"] == [1, 3]
