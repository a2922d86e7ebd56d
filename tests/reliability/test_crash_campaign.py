"""The crash campaign in its reduced form (a few kills, small sizes), and the audit's own checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devhost.durable.history import EventType
from tests.reliability.campaign import CampaignConfig, check_history, run_campaign


def test_quick_crash_campaign_loses_nothing_and_never_duplicates_a_side_effect_or_entity_operation(
    tmp_path: Path,
) -> None:
    config = CampaignConfig.quick()
    result = run_campaign(config, tmp_path)
    assert result.ok, result.summary()
    assert result.kills == config.kills
    assert result.runs == result.completed_as_expected > 0
    assert (result.lost_runs, result.stuck_runs, result.malformed_histories) == (0, 0, 0)
    assert result.duplicate_side_effects == result.missing_side_effects == 0
    assert result.side_effects == result.expected_side_effects > 0
    assert result.activity_executions >= result.activities_scheduled > 0
    assert result.map_runs == result.map_runs_gathered == config.map_runs > 0
    assert result.map_item_effects == result.map_items > result.map_items_failed > 0
    assert result.map_items_duplicated == result.map_items_missing == 0
    # An approval per item, asked in partitions and answered through the run's links across kills.
    assert result.approval_map_runs == result.approval_map_runs_gathered == config.asks_runs > 0
    assert result.instances > result.runs  # the map's partitions: sub-orchestrations of their runs
    assert 0 < result.largest_history <= 3_000
    assert result.entity_runs == config.entity_runs and result.entity_lost_runs == 0
    assert result.entity_operations_applied == result.entity_operations_expected > 0
    assert result.entity_lost_operations == result.entity_duplicate_operations == 0
    assert result.entity_malformed_histories == 0
    # Agent steps with tool loops (the orders MCP server's tools, a manager approving each refund): every
    # run completed as in memory, each approved refund made once, no finished call made again.
    assert result.agent_runs == result.agent_runs_completed == config.agent_runs > 0
    assert result.agent_refunds == result.agent_refunds_expected > 0
    assert result.agent_duplicate_refunds == result.agent_missing_refunds == 0
    assert result.agent_repeats_without_kill == 0
    assert result.agent_tool_calls >= 2 * config.agent_runs
    assert result.agent_call_executions >= result.agent_calls_scheduled > 0


def _ev(kind: EventType, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {"EventType": int(kind), "EventId": event_id, "Timestamp": "2030-01-01T00:00:00.000000Z", **fields}


def _well_formed() -> list[dict[str, Any]]:
    return [
        _ev(EventType.OrchestratorStarted),
        _ev(EventType.ExecutionStarted, Name="w"),
        _ev(EventType.TaskScheduled, 0, Name="run_step"),
        _ev(EventType.TimerCreated, 1),
        _ev(EventType.OrchestratorCompleted),
        _ev(EventType.OrchestratorStarted),
        _ev(EventType.TaskCompleted, TaskScheduledId=0, Result="{}"),
        _ev(EventType.TimerFired, TimerId=1),
        _ev(EventType.ExecutionCompleted, Result="[]"),
        _ev(EventType.OrchestratorCompleted),
    ]


def test_a_well_formed_history_passes() -> None:
    assert check_history("i", _well_formed()) == []


def test_the_audit_names_what_is_wrong_with_a_history() -> None:
    history = _well_formed()
    history.insert(7, _ev(EventType.TaskCompleted, TaskScheduledId=0, Result="{}"))  # completed twice
    history.insert(7, _ev(EventType.TaskFailed, TaskScheduledId=9))  # never scheduled
    history.insert(7, _ev(EventType.TimerFired, TimerId=5))  # never created
    problems = "\n".join(check_history("i", history))
    assert "task 0 completed twice" in problems
    assert "TaskFailed for task 9 that was never scheduled" in problems
    assert "TimerFired for timer 5 that was never created" in problems
    unfinished = [e for e in _well_formed() if e["EventType"] != EventType.ExecutionCompleted]
    problems = "\n".join(check_history("i", unfinished))
    assert "the last event is not ExecutionCompleted" in problems
    lost_result = [e for e in _well_formed() if e["EventType"] != EventType.TaskCompleted]
    assert "scheduled but never completed" in "\n".join(check_history("i", lost_result))
