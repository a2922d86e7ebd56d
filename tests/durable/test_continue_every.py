"""How many supersteps an execution runs before it continues as new is recorded in its input when it
starts. So a deploy that changes the app's setting (``WorkflowApp(continue_every=...)``, or its default)
never changes the path a recorded execution replays, and runs recorded before the value was replay by the
20 every run then used."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devhost.testing import DevHostHandle
from engine.core.versions import WorkflowVersions
from engine.durable.checkpoint import DEFAULT_CONTINUE_EVERY, UNRECORDED_CONTINUE_EVERY, OrchestratorInput
from engine.durable.history import HistoryEvent
from engine.durable.replay_check import RecordedRun, replay_check
from tests.durable import graphs
from tests.durable.conftest import host_with
from tests.durable.http import finished, get, post, wait_for

MANAGEMENT = "/runtime/webhooks/durabletask"
VERSIONS = WorkflowVersions.of(graphs.ALL)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    yield from host_with(tmp_path_factory, "tests.durable.graphs")


def recorded(host: DevHostHandle, instance_id: str) -> RecordedRun:
    url = f"{host.base_url}{MANAGEMENT}/instances/{instance_id}"
    body = get(f"{url}?showHistory=true&showHistoryOutput=true&showInput=true").body
    return RecordedRun.model_validate(body)


def started_input(run: RecordedRun) -> dict[str, Any]:
    started = next(e for e in run.history if e.type == "ExecutionStarted")
    return dict(json.loads(started.input or "null"))


def with_input(run: RecordedRun, change: Callable[[dict[str, Any]], None]) -> RecordedRun:
    """The run as if its execution had started with ``change`` made to its input."""

    def changed(event: HistoryEvent) -> HistoryEvent:
        if event.type != "ExecutionStarted":
            return event
        value = json.loads(event.input or "null")
        change(value)
        return event.model_copy(update={"input": json.dumps(value)})

    return run.model_copy(update={"history": [changed(e) for e in run.history]})


def verdict(run: RecordedRun, continue_every: int) -> str | None:
    """None when the run replays cleanly on an app set to ``continue_every``; else why not."""
    (found,) = replay_check(VERSIONS, [run], continue_every=continue_every)
    return None if found.ok else found.describe()


def test_an_execution_replays_by_the_interval_it_started_with_whatever_the_app_says_now(
    host: DevHostHandle,
) -> None:
    # t_loop of 7: nine supersteps, one execution on the default interval.
    reply = post(f"{host.api_url}/workflows/t_loop?instanceId=every-recorded", {"value": 7})
    assert reply.status == 202, reply.body
    assert wait_for(reply.body["runUri"], finished).body["outputs"] == [{"left": 0, "rounds": 7}]
    run = recorded(host, "every-recorded")
    assert started_input(run)["continue_every"] == DEFAULT_CONTINUE_EVERY > 9
    assert [e.type for e in run.history].count("TaskCompleted") == 9
    # A deploy that sets a shorter interval: the recorded execution still replays as it ran.
    assert verdict(run, continue_every=3) is None
    # Recorded by code from before the interval was: it ran by 20, and replays by 20.
    older = with_input(run, lambda value: value.pop("continue_every"))
    assert OrchestratorInput.model_validate(started_input(older)).supersteps_per_execution() == 20
    assert UNRECORDED_CONTINUE_EVERY == 20
    assert verdict(older, continue_every=3) is None
    # The recorded value is what replay reads: had the execution started with 4, its fifth superstep
    # would not be in its history, and the replay says where it would break.
    shorter = with_input(run, lambda value: value.update(continue_every=4))
    problem = verdict(shorter, continue_every=DEFAULT_CONTINUE_EVERY)
    assert problem is not None and "would break" in problem, problem


def test_a_run_started_around_the_api_records_the_apps_interval(host: DevHostHandle) -> None:
    reply = post(f"{host.base_url}{MANAGEMENT}/orchestrators/t_loop/every-bare", {"value": 3})
    assert reply.status == 202, reply.body
    view = wait_for(f"{host.api_url}/workflows/t_loop/runs/every-bare", finished).body
    assert view["outputs"] == [{"left": 0, "rounds": 3}]
    # Admitted: the execution after the admission's continue-as-new carries the app's interval.
    assert started_input(recorded(host, "every-bare"))["continue_every"] == DEFAULT_CONTINUE_EVERY


@pytest.mark.parametrize("bad", [0, -1, "ten"])
def test_an_input_with_an_impossible_interval_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="continue_every"):
        OrchestratorInput.model_validate({"input": 1, "continue_every": bad})


def test_the_app_refuses_an_interval_below_one() -> None:
    from engine.functions.app import WorkflowApp

    with pytest.raises(ValueError, match="continue_every must be at least 1"):
        WorkflowApp([graphs.loop], continue_every=0)
