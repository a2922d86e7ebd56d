"""The trail a run carries across continue-as-new for its timeline: compact, capped, and small enough to
travel inline in an Azure queue message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from engine.durable.checkpoint import OrchestratorInput
from engine.durable.trail import (
    MAX_CHILDREN,
    MAX_CONTINUATIONS,
    MAX_STEPS,
    Continuation,
    StepRecord,
    Trail,
    error_text,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def record(superstep: int, *, ok: bool = True) -> StepRecord:
    at = T0 + timedelta(seconds=superstep)
    return StepRecord(
        executor="a_rather_long_executor_name",
        superstep=superstep,
        ok=ok,
        scheduled=at,
        completed=at + timedelta(milliseconds=12),
        duration_ms=11.25,
        error=None if ok else error_text("RuntimeError", "x" * 1000),
        tokens=1234,
    )


def test_the_trail_keeps_the_newest_steps_and_counts_the_rest() -> None:
    trail = Trail(started_at=T0)
    for execution in range(30):
        steps = [record(execution * 20 + i) for i in range(1, 21)]
        trail = trail.carried(steps, Continuation(after_superstep=(execution + 1) * 20, at=T0), {})
    assert len(trail.steps) == MAX_STEPS and trail.dropped_steps == 600 - MAX_STEPS
    assert trail.steps[-1].superstep == 600 and trail.steps[0].superstep == 600 - MAX_STEPS + 1
    assert trail.executions == 31 and len(trail.continuations) == min(30, MAX_CONTINUATIONS)
    assert trail.started_at == T0


def test_a_full_trail_travels_inline_and_errors_are_cut_short() -> None:
    trail = Trail(started_at=T0, steps=[record(i, ok=i % 2 == 0) for i in range(MAX_STEPS)])
    trail = trail.model_copy(
        update={"continuations": [Continuation(after_superstep=i, at=T0) for i in range(50)]}
    )
    size = len(json.dumps(OrchestratorInput(trail=trail.model_dump(mode="json")).model_dump(mode="json")))
    assert size < 20 * 1024, size  # well within the 45 KB Azure Storage keeps inline in a message
    assert all(len(r.error or "") <= 120 for r in trail.steps)
    assert trail.steps[1].error is not None and trail.steps[1].error.startswith("RuntimeError: xxx")


def test_an_input_without_a_trail_reads_as_an_empty_one() -> None:
    started = OrchestratorInput.model_validate({"input": 1, "checkpoint": None})
    assert started.read_trail() == Trail() and started.read_trail().executions == 1
    garbled = OrchestratorInput.model_validate({"trail": {"steps": "not a list"}})
    assert garbled.read_trail() == Trail()


def test_a_record_travels_as_one_array_and_reads_back() -> None:
    one = record(7, ok=False)
    row = one.model_dump(mode="json")
    assert isinstance(row, list) and row[:5] == ["a_rather_long_executor_name", 7, 0, 1, False]
    again = StepRecord.model_validate(json.loads(json.dumps(row)))
    assert again.completed - again.scheduled == timedelta(milliseconds=12)
    assert again.model_dump(mode="json") == row and again.error == one.error
    bad = {"steps": [["x", 1, 0, 1, True, "not a time", 1, 1, None, None]]}
    with pytest.raises(ValidationError):
        Trail.model_validate(bad)
    assert OrchestratorInput(trail=bad).read_trail() == Trail()


def test_the_runs_start_is_read_from_the_trail_alone() -> None:
    trail = Trail(started_at=T0).carried([record(1)], Continuation(after_superstep=1, at=T0), {})
    carried = OrchestratorInput(trail=trail.model_dump(mode="json"))
    assert carried.trail_started_at() == carried.read_trail().started_at == T0
    assert OrchestratorInput().trail_started_at() is None
    assert OrchestratorInput(trail={"started_at": "not a time"}).trail_started_at() is None


def child_ids(execution: int, count: int) -> dict[str, str]:
    # As long as real child ids: the parent's 32-hex id, the node, the superstep and the item.
    return {f"{'f' * 32}:pack_order:{execution * 10 + 1}:{i}": "pack_order" for i in range(count)}


def test_sub_workflow_runs_are_carried_first_ones_kept_and_all_counted() -> None:
    trail = Trail(started_at=T0)
    trail = trail.carried([], Continuation(after_superstep=10, at=T0), child_ids(0, 3))
    trail = trail.carried([], Continuation(after_superstep=20, at=T0), {})
    trail = trail.carried([], Continuation(after_superstep=30, at=T0), child_ids(2, 2 * MAX_CHILDREN))
    assert list(trail.children)[:3] == list(child_ids(0, 3)) and len(trail.children) == MAX_CHILDREN
    assert trail.children_total == 3 + 2 * MAX_CHILDREN
    carried = OrchestratorInput(trail=trail.model_dump(mode="json"))
    assert carried.trail_children() == (trail.children, 3 + 2 * MAX_CHILDREN)
    assert OrchestratorInput().trail_children() == ({}, 0)
    assert OrchestratorInput(trail={"children": ["not", "a map"]}).trail_children() == ({}, 0)


def test_a_full_trail_with_its_sub_workflow_runs_still_travels_inline() -> None:
    trail = Trail(started_at=T0, steps=[record(i, ok=i % 2 == 0) for i in range(MAX_STEPS)])
    trail = trail.carried([], Continuation(after_superstep=1, at=T0), child_ids(0, MAX_CHILDREN))
    size = len(json.dumps(OrchestratorInput(trail=trail.model_dump(mode="json")).model_dump(mode="json")))
    assert size < 32 * 1024, size  # within the 45 KB Azure Storage keeps inline in a message
