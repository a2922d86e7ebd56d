"""The runner's unvalidated event constructor builds exactly what validation builds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.events import RunEvent, make_event

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("run_started", {}),
        ("superstep_started", {"superstep": 1, "data": {"executors": ["a", "b"]}}),
        ("executor_completed", {"superstep": 2, "executor_id": "x", "attempt": 1, "duration_ms": 1.5}),
        ("executor_failed", {"superstep": 2, "executor_id": "x", "attempt": 2, "error": "E: boom"}),
        ("approval_requested", {"superstep": 3, "executor_id": "ok", "request_id": "r1", "data": None}),
        ("executor_completed", {"duration_ms": 3}),  # an int: takes the validating path
        ("run_completed", {"at_least": 1}),  # unknown field: validation decides (ignores it)
    ],
)
def test_make_event_equals_validated_event(kind: str, fields: dict) -> None:
    fast, slow = make_event(kind, NOW, fields), RunEvent(kind=kind, at=NOW, **fields)  # type: ignore[arg-type]
    assert fast == slow and repr(fast) == repr(slow)
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump_json() == slow.model_dump_json()
    if fields.get("data") is not None:
        assert fast.data is not fields["data"]  # copied, as validation copies it
