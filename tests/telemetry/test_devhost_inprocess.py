"""Durable runs on devhost in this process, the engine reporting through the test's own SDK providers: the
run's trace context is carried across continue-as-new, a run started through the management API is one
trace too, and an approval that lapses closes on its episode span as timed out."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta
from pathlib import Path

from devhost.testing import run_devhost
from engine.telemetry.propagation import derived_traceparent
from tests.durable.http import get, post
from tests.telemetry.conftest import Exporting

APP = Path(__file__).resolve().parent / "app"


def test_a_run_that_continues_as_new_stays_one_trace(exporting: Exporting) -> None:
    trace_id = secrets.token_hex(16)
    with run_devhost(APP, settings={"APPROVAL_SIGNING_KEY": "telemetry-test-key-not-a-secret"}) as host:
        started = post(
            f"{host.api_url}/workflows/tm_loop",
            {"left": 6},
            headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
        )
        assert started.status == 202, started.body
        done = get(f"{started.body['runUri']}?wait=30&until=finished").body
        assert done["runtimeStatus"] == "Completed" and done["outputs"] == ["done"], done
        host.wait_until_idle()
    spans = exporting.flush().spans
    [start] = [s for s in spans if s.name == "start workflow tm_loop"]
    steps = [s for s in spans if s.name.startswith("step ")]
    assert Counter(s.attributes["workflow.executor.id"] for s in steps) == {"tick": 6, "done": 1}
    assert [s.attributes["workflow.superstep"] for s in sorted(steps, key=lambda s: s.start_ns)] == list(
        range(1, 8)
    )
    episodes = [s for s in spans if s.name.startswith("orchestrator episode tm_loop")]
    assert {s.trace_id for s in [*steps, *episodes]} == {trace_id}
    assert {s.parent_id for s in [*steps, *episodes]} == {start.span_id}
    # Three executions (supersteps 1-2, 3-4, 5-6, then 7): episodes beyond the first execution's.
    assert max(e.attributes["workflow.superstep"] for e in episodes) == 7


def test_a_run_started_through_the_management_api_is_one_trace_too(exporting: Exporting) -> None:
    """No HTTP start span and no traceparent in its input: its episodes and steps share the trace its
    instance id gives."""
    with run_devhost(APP, settings={"APPROVAL_SIGNING_KEY": "telemetry-test-key-not-a-secret"}) as host:
        started = post(
            f"{host.base_url}/runtime/webhooks/durabletask/orchestrators/tm_loop/plain-start",
            {"input": {"left": 3}},
        )
        assert started.status == 202, started.body
        done = get(f"{host.api_url}/workflows/tm_loop/runs/plain-start?wait=30&until=finished").body
        assert done["runtimeStatus"] == "Completed", done
        host.wait_until_idle()
    spans = [s for s in exporting.flush().spans if not s.name.startswith("start ")]
    assert len([s for s in spans if s.name.startswith("step ")]) == 4
    derived = derived_traceparent("plain-start")
    assert {f"00-{s.trace_id}-{s.parent_id}-01" for s in spans} == {derived}


def test_a_lapsed_approval_closes_as_timed_out_on_the_episode_that_saw_it(exporting: Exporting) -> None:
    with run_devhost(APP, settings={"APPROVAL_SIGNING_KEY": "telemetry-test-key-not-a-secret"}) as host:
        started = post(f"{host.api_url}/workflows/tm_traced", {"order_id": "A-1", "amount": 100.0})
        assert started.status == 202, started.body
        run_uri = started.body["runUri"]
        assert get(f"{run_uri}?wait=30").body["phase"] == "waiting_for_approval"
        host.clock.advance(timedelta(hours=2))  # past the manager's one-hour deadline
        done = get(f"{run_uri}?wait=30&until=finished").body
        assert done["runtimeStatus"] == "Failed", done
        host.wait_until_idle()
    spans = exporting.flush().spans
    episodes = [s for s in spans if s.name.startswith("orchestrator episode tm_traced")]
    events = [(e.name, e.attributes) for s in episodes for e in s.events if e.name.startswith("approval.")]
    assert [name for name, _ in events] == ["approval.opened", "approval.closed"]
    closed = events[1][1]
    assert (closed["workflow.approval.outcome"], closed["workflow.approval.via"]) == ("timed_out", "timeout")
    last = max(episodes, key=lambda e: e.end_ns)
    assert last.status == 2 and last.attributes["workflow.run.status"] == "failed"
    assert last.attributes["error.type"] == "WorkflowFailed"
    assert [e.name for e in last.events] == ["approval.closed", "exception"]
    assert exporting.receiver.total("workflow.approvals.pending") == 0
