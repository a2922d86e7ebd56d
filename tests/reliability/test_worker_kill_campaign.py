"""The Durable Task runner's worker-kill campaign in its reduced form: the worker is killed with kill -9
mid-step, the task hub lives on in a sidecar process, and nothing is lost or done twice."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.worker_kill_campaign import WorkerKillConfig, run_worker_kill_campaign


def test_killing_the_worker_loses_no_run_and_repeats_no_side_effect(tmp_path: Path) -> None:
    config = WorkerKillConfig.quick()
    result = run_worker_kill_campaign(config, tmp_path)
    print(result.summary())
    assert result.ok, result.summary()
    assert result.kills == config.kills and result.kills_mid_step >= 1
    assert result.runs == result.completed_as_expected > 0
    assert result.side_effects == result.expected_side_effects > 0
    assert result.re_executions >= 1  # steps the kills cut short ran again, their effect recorded once
