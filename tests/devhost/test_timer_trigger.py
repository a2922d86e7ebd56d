"""Timer triggers on the real devhost, on its controllable clock, as the Timers extension runs them
(Azure/azure-webjobs-sdk-extensions, src/WebJobs.Extensions/Extensions/Timers: TimerListener,
CronSchedule, StorageScheduleMonitor; the timer trigger reference on Microsoft Learn). The app uses no
Storage binding, so it runs without Azurite."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devhost.config.host_clock import Clock
from devhost.functions.function_retry_policy import RetryPolicy
from devhost.testing import DevHostHandle, run_devhost
from devhost.triggers.ncrontab import ScheduleError, parse
from tests.devhost.helpers import APPS, call

APP = APPS / "timers"
NO_AZURITE = {"DEVHOST_AZURITE": "/nonexistent/azurite"}


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
    return value


def runs(host: DevHostHandle, name: str) -> list[dict[str, Any]]:
    return call("GET", f"{host.api_url}/runs/{name}").json


def advance_to(host: DevHostHandle, moment: datetime) -> None:
    host.clock.advance(max(timedelta(0), moment - host.clock.now()) + timedelta(milliseconds=100))


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(APP, settings=NO_AZURITE) as handle:
        yield handle


def test_run_on_startup_runs_once_when_the_host_starts(host):
    # TimerTriggerAttribute.RunOnStartup: invoked once when the listener starts, not past due.
    eventually(lambda: runs(host, "at_start"))
    assert [r["past_due"] for r in runs(host, "at_start")] == [False]
    # use_monitor=False: no schedule status is kept, and none is passed.
    assert runs(host, "at_start")[0]["status"] == {}


def test_ncrontab_schedule_fires_at_each_occurrence(host):
    # "0 */5 * * * *": second 0 of every fifth minute (CronSchedule over NCrontab, six fields).
    before = len(runs(host, "every_five_minutes"))
    schedule = parse("0 */5 * * * *")
    first = schedule.next_after(host.clock.now())
    advance_to(host, first)
    eventually(lambda: len(runs(host, "every_five_minutes")) == before + 1)
    advance_to(host, schedule.next_after(first))
    eventually(lambda: len(runs(host, "every_five_minutes")) == before + 2)
    status = runs(host, "every_five_minutes")[-1]["status"]
    # use_monitor defaults on for a schedule at least a minute apart: ScheduleStatus is passed.
    assert datetime.fromisoformat(status["Last"]) == schedule.next_after(first)
    assert datetime.fromisoformat(status["Next"]) == schedule.next_after(schedule.next_after(first))


def test_timer_starts_an_orchestration_through_the_durable_client(host):
    # A timer function with the durable client binding starts an orchestration, as in any app.
    advance_to(host, parse("0 30 2 * * *").next_after(host.clock.now()))
    eventually(lambda: runs(host, "nightly"))
    host.wait_until_idle()

    def cleanup_done() -> Any:
        listed = call("GET", f"{host.base_url}/runtime/webhooks/durabletask/instances").json
        return [i for i in listed if i["name"] == "cleanup" and i["runtimeStatus"] == "Completed"]

    assert eventually(cleanup_done)[0]["output"].startswith("cleanup ")


def test_retry_policy_runs_a_failed_timer_again(host):
    # @app.retry on a timer trigger (function retry policies: Microsoft Learn "Azure Functions error
    # handling and retries"): max_retry_count more attempts after a failure, delay_interval apart, the
    # attempt in context.retry_context (retry_count 0 for the first run).
    eventually(lambda: len(runs(host, "flaky_timer")) % 3 == 0)
    before = len(runs(host, "flaky_timer"))
    advance_to(host, parse("0 0 3 1 6 *").next_after(host.clock.now()))
    eventually(lambda: len(runs(host, "flaky_timer")) >= before + 3)
    time.sleep(1.5)  # no fourth attempt
    attempts = runs(host, "flaky_timer")[before:]
    assert [a["retry_count"] for a in attempts] == [0, 1, 2]
    assert {a["max_retry_count"] for a in attempts} == {2}
    assert [a["previous"] for a in attempts] == [
        None,
        "RuntimeError: still broken",
        "RuntimeError: still broken",
    ]


def test_missed_occurrence_runs_past_due_at_start_with_the_monitor(tmp_path: Path):
    # StorageScheduleMonitor keeps the schedule status across restarts; at start an occurrence missed
    # while the host was down runs at once with IsPastDue = true (TimerListener.StartAsync).
    state = tmp_path / "state.sqlite"
    with run_devhost(APP, state=state, settings=NO_AZURITE) as first:
        eventually(lambda: runs(first, "at_start"))
    assert (tmp_path / "timers" / "every_five_minutes.json").exists()
    later = Clock()
    later.advance(timedelta(minutes=11))  # the host was down over at least two occurrences
    with run_devhost(APP, state=state, settings=NO_AZURITE, clock=later) as second:
        past_due = eventually(lambda: [r for r in runs(second, "every_five_minutes") if r["past_due"]])
        assert len(past_due) == 1  # one catch-up run, not one per missed occurrence


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 */5 * * * *", "2026-03-01T10:02:30+00:00", "2026-03-01T10:05:00+00:00"),
        ("*/15 * * * * *", "2026-03-01T10:02:50+00:00", "2026-03-01T10:03:00+00:00"),
        ("0 30 9 * * Mon-Fri", "2026-02-27T10:00:00+00:00", "2026-03-02T09:30:00+00:00"),  # Fri -> Mon
        ("0 0 0 1 Jan *", "2026-03-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"),
        ("5/20 0 12 * * 0", "2026-03-01T00:00:00+00:00", "2026-03-01T12:00:05+00:00"),  # a Sunday
        ("00:10:00", "2026-03-01T10:02:30+00:00", "2026-03-01T10:12:30+00:00"),  # a TimeSpan schedule
    ],
)
def test_ncrontab_next_occurrences(expression, after, expected):
    # NCrontab's six-field grammar: ranges, steps, lists, month and day names; Sunday is 0.
    assert parse(expression).next_after(datetime.fromisoformat(after)).isoformat() == expected


@pytest.mark.parametrize("bad", ["* * * *", "61 * * * * *", "0 0 0 * * Moonday", "0 0 0 31-1 * *"])
def test_invalid_schedules_are_refused(bad):
    with pytest.raises(ScheduleError):
        parse(bad)


def test_exponential_backoff_doubles_from_the_minimum_up_to_the_maximum():
    # ExponentialBackoffRetry: the first retry waits minimum_interval, each next one twice as long, never
    # more than maximum_interval; max_retry_count -1 retries until it succeeds.
    policy = RetryPolicy("exponential_backoff", -1, minimum=1.0, maximum=10.0)
    assert [policy.delay_before(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert policy.allows(1000)
    assert not RetryPolicy("fixed_delay", 2, delay=5.0).allows(3)
