"""The event feed of a run on devhost: every execution, in order, with cursors; long-polling; the same
after a crash (built from durable data)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHostProcess
from engine.durable.checkpoint import DEFAULT_CONTINUE_EVERY
from tests.durable.conftest import ROOT, SIGNING_KEY
from tests.durable.http import finished, get, post, wait_for

SETTINGS = {
    "WORKFLOW_MODULES": "tests.durable.graphs,tests.durable.maps,tests.durable.retry_lines",
    "APPROVAL_SIGNING_KEY": SIGNING_KEY,
}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostProcess]:
    process = DevHostProcess(ROOT, tmp_path_factory.mktemp("feed") / "state.sqlite", settings=SETTINGS)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def feed(run: str, cursor: str | None = None, wait: int = 0) -> dict:
    query = f"?wait={wait}" + (f"&after={cursor}" if cursor else "")
    reply = get(f"{run}/events{query}")
    assert reply.status == 200, reply.body
    return reply.body


def all_events(run: str) -> list[dict]:
    events, cursor = [], None
    while True:
        page = feed(run, cursor)
        if not page["events"]:
            return events
        events += page["events"]
        cursor = page["cursor"]


def test_a_map_run_reports_each_item_and_its_end_in_order(host: DevHostProcess) -> None:
    api = f"{host.base_url}/api/workflows"
    run = post(f"{api}/t_map_collect", {"name": "f", "docs": ["a", "bad-b", "c"]}).body["runUri"]
    wait_for(f"{run}?wait=30", finished)
    events = all_events(run)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_completed"
    assert sorted(e["item"] for e in events if e["kind"] == "map_item_done") == [0, 2]
    assert [e["item"] for e in events if e["kind"] == "step_failed"] == [1]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert len({e["cursor"] for e in events}) == len(events)
    assert feed(run, events[-1]["cursor"])["events"] == []


def test_the_feed_comes_in_pages_and_latest_gives_a_cursor_to_follow_from(host: DevHostProcess) -> None:
    api = f"{host.base_url}/api/workflows"
    run = post(f"{api}/t_map", {"name": "pages", "docs": [f"d{i}" for i in range(30)]}).body["runUri"]
    wait_for(f"{run}?wait=30", finished)
    whole = all_events(run)
    assert len(whole) > 60  # started, done per item, and the run's own events
    paged, cursor = [], None
    while True:
        page = get(f"{run}/events?limit=25" + (f"&after={cursor}" if cursor else "")).body
        paged += page["events"]
        assert len(page["events"]) <= 25
        # A finished run's feed says finished only on the page that holds its last event.
        assert page["finished"] is not page["more"]
        if not page["more"]:
            break
        cursor = page["cursor"]
    assert paged == whole
    (newest,) = get(f"{run}/events?latest=true").body["events"]
    assert newest == whole[-1] and newest["kind"] == "run_completed"
    for bad, field in (("limit=0", "limit"), ("limit=10001", "limit"), ("latest=yes", "latest")):
        reply = get(f"{run}/events?{bad}")
        assert reply.status == 400 and reply.body["field"] == field, reply.body


def test_the_feed_spans_every_continue_as_new_execution(host: DevHostProcess) -> None:
    api = f"{host.base_url}/api/workflows"
    run = post(f"{api}/t_loop", {"value": 45}).body["runUri"]
    wait_for(f"{run}?wait=30", finished, timeout=120)
    events = all_events(run)
    # 47 supersteps (the count's start, 45 ticks, the end): one continue-as-new per full execution before it.
    assert sum(e["kind"] == "run_continued" for e in events) == (47 - 1) // DEFAULT_CONTINUE_EVERY >= 2
    completed = [e for e in events if e["kind"] == "step_completed"]
    assert len(completed) >= 45 and [e["superstep"] for e in completed] == sorted(
        e["superstep"] for e in completed
    )


def test_long_polling_answers_when_the_next_event_happens(host: DevHostProcess) -> None:
    api = f"{host.base_url}/api/workflows"
    run = post(f"{api}/t_approval", {"item": "pen", "amount": 5}).body["runUri"]
    view = get(f"{run}?wait=30").body
    first = feed(run)
    assert any(e["kind"] == "approval_requested" for e in first["events"])
    answered: dict = {}

    def poll() -> None:
        answered.update(feed(run, first["cursor"], wait=30))

    poller = threading.Thread(target=poll)
    poller.start()
    post(view["pendingApprovals"][0]["respond_uri"], {"approved": True})
    poller.join(timeout=40)
    kinds = [e["kind"] for e in answered["events"]]
    assert kinds and kinds[0] == "approval_answered"


def test_a_bad_cursor_is_a_400_naming_the_field(host: DevHostProcess) -> None:
    api = f"{host.base_url}/api/workflows"
    run = post(f"{api}/t_map", {"name": "x", "docs": []}).body["runUri"]
    reply = get(f"{run}/events?after=yesterday")
    assert reply.status == 400 and reply.body["field"] == "after"


def test_the_feed_is_the_same_after_a_crash(host: DevHostProcess, tmp_path: Path) -> None:
    api = f"{host.base_url}/api/workflows"
    run = post(f"{api}/t_map", {"name": "x", "docs": ["a", "b"]}).body["runUri"]
    wait_for(f"{run}?wait=30", finished)
    before = all_events(run)
    host.kill9()
    host.start()
    assert all_events(run) == before


def test_engine_watch_follows_a_run_to_its_end(host: DevHostProcess) -> None:
    import subprocess
    import sys

    api = f"{host.base_url}/api/workflows"
    run = post(f"{api}/t_map", {"name": "w", "docs": [f"d{i}" for i in range(12)]}).body["runUri"]
    done = subprocess.run(
        [sys.executable, "-m", "engine", "watch", run],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "▶ split" in done.stdout and "✓ split" in done.stdout
    assert "review: 10 items done" in done.stdout  # a progress line every ten items
    assert "review: 12 items done" in done.stdout and "▶ review[" not in done.stdout
    assert "● run completed" in done.stdout and '"d0:1,' in done.stdout


def test_engine_watch_says_clearly_when_the_run_cannot_be_read() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "engine", "watch", "http://127.0.0.1:9/api/workflows/x/runs/y"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    # The URL it tried (not only its path), and the likely cause on this machine.
    assert done.stderr.startswith(
        "error: cannot read http://127.0.0.1:9/api/workflows/x/runs/y/events: Connection refused"
    ), done.stderr
    assert "is devhost running? start it with `make serve`" in done.stderr


def test_a_retried_attempt_says_so_in_the_feed_and_in_engine_watch(host: DevHostProcess) -> None:
    import subprocess
    import sys

    api = f"{host.base_url}/api/workflows"
    order = {"order_id": "w-1", "lines": [{"sku": "A"}, {"sku": "FLAKY-1"}, {"sku": "BROKEN-2"}]}
    run = post(f"{api}/t_retry_lines", order).body["runUri"]
    wait_for(f"{run}?wait=30", finished)
    failed = [e for e in all_events(run) if e["kind"] == "step_failed"]
    outcomes = sorted((e["item"], e["attempt"], e["retrying"], e["max_attempts"]) for e in failed)
    assert outcomes == [(1, 1, True, 3), (2, 1, True, 3), (2, 2, True, 3), (2, 3, False, 3)]
    done = subprocess.run(
        [sys.executable, "-m", "engine", "watch", run],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line[10:] for line in done.stdout.splitlines()]  # after the time
    busy = "TransientError: {}: the stock service is busy"
    assert "↻ check_line[1] failed, will retry (attempt 1 of 3): " + busy.format("FLAKY-1") in lines
    assert "↻ check_line[2] failed, will retry (attempt 2 of 3): " + busy.format("BROKEN-2") in lines
    assert "✗ check_line[2] failed for good (attempt 3 of 3): " + busy.format("BROKEN-2") in lines
