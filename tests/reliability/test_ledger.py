"""The persistent side-effect ledger: once per step across processes, executions counted, off by default."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from engine import InMemoryRunner, StepContext
from executors.ledger import SETTING, SideEffectLedger, configured_ledger
from executors.orders import CANCELLATION_LEDGER
from workflows.order_cancellation import workflow as order_cancellation


def _ctx(key: str, executor: str = "step", attempt: int = 1) -> StepContext:
    return StepContext(
        workflow="w",
        instance_id="i-1",
        executor_id=executor,
        attempt=attempt,
        idempotency_key=key,
        logger=logging.getLogger("test"),
    )


def test_the_first_result_wins_and_survives_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    first = SideEffectLedger(path)
    assert first.once(_ctx("k1"), '"first"') == '"first"'
    again = SideEffectLedger(path)  # as a restarted host would open it
    assert again.once(_ctx("k1", attempt=2), '"second"') == '"first"'
    assert again.once(_ctx("k1", executor="other"), '"x"') == '"x"'  # keyed by (key, executor)
    assert again.counts().side_effects == 2
    assert again.effects_by_instance() == {("i-1", "step"): 1, ("i-1", "other"): 1}


def test_executions_are_counted_and_interrupted_ones_marked(tmp_path: Path) -> None:
    ledger = SideEffectLedger(tmp_path / "ledger.sqlite")
    with ledger.execution(_ctx("k1")):
        ledger.once(_ctx("k1"), "1")
    ledger.begin(_ctx("k1", attempt=2))  # a process killed inside the step: never ended
    with pytest.raises(RuntimeError), ledger.execution(_ctx("k2")):
        raise RuntimeError("the step failed")
    counts = ledger.counts()
    assert (counts.executions, counts.distinct_steps, counts.running) == (3, 2, 1)
    assert counts.re_executions == 1
    assert ledger.mark_interrupted() == 1
    assert ledger.counts().interrupted == 1
    assert ledger.executions_without_effect({"step"}) == []


def test_the_setting_selects_the_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SETTING, raising=False)
    assert configured_ledger() is None
    monkeypatch.setenv(SETTING, str(tmp_path / "l.sqlite"))
    ledger = configured_ledger()
    assert ledger is not None and ledger is configured_ledger()


async def test_order_cancellation_records_its_refund_in_the_persistent_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.sqlite"
    monkeypatch.setenv(SETTING, str(path))
    before = len(CANCELLATION_LEDGER)
    data = {"order_id": "ORD-100250", "reason": "Ordered the wrong size"}
    first = await InMemoryRunner().run(order_cancellation, data, instance_id="ledger-run")
    # The same instance id gives the same step keys: a replayed run finds its earlier cancellation.
    second = await InMemoryRunner().run(order_cancellation, data, instance_id="ledger-run")
    assert first.outputs_json() == second.outputs_json()
    assert first.outputs_json()[0]["confirmation"] == "CXL-100250"
    ledger = SideEffectLedger(path)
    assert ledger.effects_by_instance() == {("ledger-run", "execute_cancellation"): 1}
    assert ledger.counts().executions == 2
    assert len(CANCELLATION_LEDGER) == before  # the in-memory ledger is not used meanwhile


def test_one_executors_counts_and_recorded_results(tmp_path: Path) -> None:
    ledger = SideEffectLedger(tmp_path / "ledger.sqlite")
    with ledger.execution(_ctx("k1", executor="item")):
        ledger.once(_ctx("k1", executor="item"), '{"index": 0}')
    ledger.begin(_ctx("k1", executor="item", attempt=2))
    ledger.once(_ctx("k2", executor="item"), '{"index": 1}')
    ledger.once(_ctx("k3", executor="other"), "3")
    counts = ledger.counts("item")
    assert (counts.side_effects, counts.executions, counts.distinct_steps, counts.running) == (2, 2, 1, 1)
    assert ledger.counts().side_effects == 3
    assert ledger.results_by_instance("item") == {"i-1": ['{"index": 0}', '{"index": 1}']}
    assert ledger.results_by_instance("nobody") == {}
