"""Purging runs through the workflow API on devhost: a finished run's streams go with its history at once
(the SQLite store holds none of the run right after), a running run is a 409, bad input a 4xx naming the
field, a cross-site purge is refused, and a keyed host wants the function key; the app registers the
sweep's timer. The sweep of purges around the API: ``test_sweep.py``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from devhost.testing import DevHostHandle, run_devhost
from engine.functions.app import SWEEP_FUNCTION
from engine.streams.sweep import DEFAULT_SCHEDULE
from tests.durable.http import call, finished, get, post, wait_for
from tests.streams.hosting import (
    BRIEF,
    ROOT,
    WEBHOOK,
    finished_run,
    held,
    key,
    run_url,
    stream_host,
    stream_settings,
)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    """The default sweep schedule (every 15 minutes): no sweep runs while these tests do, so what is
    purged, the route purged."""
    state = tmp_path_factory.mktemp("purge") / "state.sqlite"
    with stream_host(state, 20) as handle:
        yield handle


def test_the_api_purges_a_finished_runs_history_and_streams_at_once(host: DevHostHandle) -> None:
    run = finished_run(host)
    assert held(host)[run] == {key(host, run)}
    answer = call("DELETE", run_url(host, run))
    assert answer.status == 200, answer.body
    assert answer.body["purged"] is True and answer.body["instanceId"] == run
    assert answer.body["streamChunks"] > 0
    assert run not in held(host)  # right after the answer, nothing read the stream route
    assert get(f"{host.base_url}{WEBHOOK}/{run}").status == 404  # the history is gone too
    assert get(run_url(host, run)).status == 404
    again = call("DELETE", run_url(host, run))
    assert again.status == 404 and run in json.dumps(again.body)


def test_a_running_run_is_a_409_naming_why(host: DevHostHandle) -> None:
    slow = {**BRIEF, "topic": "a long piece " * 20}
    run = post(f"{host.api_url}/workflows/s_stream", slow).body["id"]
    answer = call("DELETE", run_url(host, run))
    assert answer.status == 409
    assert "only a finished run can be purged" in answer.body["error"]
    assert answer.body["field"] == "instanceId"
    wait_for(run_url(host, run), finished)
    assert call("DELETE", run_url(host, run)).status == 200


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("workflows/s_stream/runs/bad%20id", 400, "instanceId"),
        ("workflows/nobody/runs/some-run", 404, "name"),
        ("workflows/s_stream/runs/no-such-run", 404, "instanceId"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(host: DevHostHandle, path: str, status: int, field: str) -> None:
    answer = call("DELETE", f"{host.api_url}/{path}")
    assert answer.status == status
    assert answer.headers["Content-Type"].startswith("application/json")
    assert field in json.dumps(answer.body)


def test_a_cross_site_purge_is_refused(host: DevHostHandle) -> None:
    run = finished_run(host)
    answer = call("DELETE", run_url(host, run), headers={"Origin": "https://elsewhere.example"})
    assert answer.status == 403
    assert get(run_url(host, run)).status == 200


def test_purging_takes_the_function_key_where_the_host_checks_keys(host: DevHostHandle) -> None:
    with run_devhost(ROOT, require_keys=True, settings=stream_settings(0)) as keyed:
        keys = keyed.host.keys
        assert keys is not None
        code = f"?code={keys.function}"
        run = post(f"{keyed.api_url}/workflows/s_stream{code}", BRIEF).body["id"]
        wait_for(run_url(keyed, run) + code, finished)
        assert call("DELETE", run_url(keyed, run)).status == 401
        assert get(run_url(keyed, run) + code).status == 200  # refused: still there
        purged = call("DELETE", run_url(keyed, run), headers={"x-functions-key": keys.function})
        assert purged.status == 200, purged.body


def test_the_app_sweeps_on_a_timer_every_15_minutes_by_default(host: DevHostHandle) -> None:
    [timer] = [f for f in host.host.index.listened if f.name == SWEEP_FUNCTION]
    assert (timer.trigger_type, timer.trigger["schedule"]) == ("timerTrigger", DEFAULT_SCHEDULE)
    assert DEFAULT_SCHEDULE == "0 */15 * * * *"
