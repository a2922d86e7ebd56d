"""Recorded runs kept as regression tests: every history in ``tests/histories`` (exported from devhost
with ``python -m devhost.export``) must still replay cleanly on the shipped workflows, so a change to the
engine or to a workflow that would break runs in flight fails here before it is deployed."""

from __future__ import annotations

from pathlib import Path

from engine.durable.replay_check import load_recorded_runs, replay_check
from workflows import ALL

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def test_every_recorded_run_replays_cleanly_on_the_current_code() -> None:
    runs = load_recorded_runs(HISTORIES)
    verdicts = replay_check(ALL, runs)
    assert len(verdicts) == len(runs) > 0
    assert [v.describe() for v in verdicts if not v.ok] == []
