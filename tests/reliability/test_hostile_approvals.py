"""The hostile-approval campaign (``tests/reliability/hostile_approvals.py``) must accept nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.hostile_approvals import (
    Report,
    campaign,
    rotate_between_answer_and_replay,
    rotate_links,
)


@pytest.mark.parametrize("require_keys", [False, True], ids=["devhost", "devhost --require-keys"])
def test_no_forged_answer_is_accepted(tmp_path: Path, require_keys: bool) -> None:
    report = campaign(tmp_path, require_keys=require_keys)
    print(f"{report.mode}: {report.attempts} attempts, {report.wrongly_accepted} wrongly accepted")
    assert report.attempts >= 70
    assert report.wrongly_accepted == 0 and report.failed_or_stuck == 0, report.failures


def test_a_rotated_key_accepts_no_replay(tmp_path: Path) -> None:
    report = Report("rotation")
    rotate_between_answer_and_replay(tmp_path, report)
    rotate_links(tmp_path, report)
    assert report.attempts == 2, report.names
    assert report.wrongly_accepted == 0 and report.failed_or_stuck == 0, report.failures
