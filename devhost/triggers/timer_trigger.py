"""The timer trigger as the Timers extension runs it (``TimerListener``, ``StorageScheduleMonitor`` in
Azure/azure-webjobs-sdk-extensions), on devhost's clock:

- the function runs at each occurrence of its schedule (ncrontab), evaluated in UTC, or in the
  WEBSITE_TIME_ZONE zone when that setting names one (an IANA name, as on Linux plans); one run at a time;
- ``run_on_startup``: once more when the host starts;
- ``use_monitor`` (default: on for schedules whose occurrences are at least a minute apart): the schedule
  status (Last, Next, LastUpdated) is kept across restarts (the host keeps it in a blob; devhost in its
  state folder, in memory with --in-memory); an occurrence missed while the host was down runs at start,
  with ``past_due`` true;
- the function receives ``{Schedule, ScheduleStatus, IsPastDue}`` (func.TimerRequest); a run that fails is
  logged, and the schedule goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from azure.functions import meta

from devhost.config.errors import DevHostError
from devhost.config.host_clock import Clock
from devhost.config.state_folder import write_private
from devhost.functions.listener_targets import ListenedFunction, invoke
from devhost.storage.binding_expressions import resolve_settings
from devhost.triggers.ncrontab import Schedule, parse
from devhost.worker.invocation import Invoker, Retry

TIME_ZONE_SETTING = "WEBSITE_TIME_ZONE"


def _zone() -> Any:
    name = os.environ.get(TIME_ZONE_SETTING, "").strip()
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DevHostError(
            f"{TIME_ZONE_SETTING}={name!r} is not a time zone name (use an IANA name)"
        ) from None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def monitored(schedule: Schedule, use_monitor: Any) -> bool:
    """Whether the schedule's status is kept across restarts: as ``use_monitor`` says, else when its
    occurrences are at least a minute apart."""
    if use_monitor is not None:
        return bool(use_monitor)
    if schedule.interval is not None:
        return schedule.interval >= timedelta(minutes=1)
    first = schedule.next_after(datetime(2001, 1, 1))
    return schedule.next_after(first) - first >= timedelta(minutes=1)


class TimerListener:
    """Runs one timer-triggered function at each occurrence of its schedule, on the host's clock."""

    def __init__(
        self,
        target: ListenedFunction,
        clock: Clock,
        invoker: Invoker,
        client_binding: Callable[[], str],
        state_folder: Path | None,
    ) -> None:
        self.target = target
        self.clock = clock
        self.invoker = invoker
        self.client_binding = client_binding
        self.schedule = parse(resolve_settings(str(target.trigger["schedule"])))
        self.zone = _zone()
        self.monitor = monitored(self.schedule, target.trigger.get("useMonitor"))
        self.run_on_startup = bool(target.trigger.get("runOnStartup"))
        self.status_file = state_folder / "timers" / f"{target.name}.json" if state_folder else None
        self._status: dict[str, str | None] = {}
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[None] | None = None
        clock.on_change(lambda: self._loop.call_soon_threadsafe(self._wake.set))

    def now(self) -> datetime:
        """The host clock's time, in the WEBSITE_TIME_ZONE zone when one is set."""
        moment = self.clock.now()
        return moment.astimezone(self.zone) if self.zone else moment

    async def start(self) -> None:
        """Start waiting for the schedule's occurrences."""
        self._task = asyncio.create_task(self._run(), name=f"devhost-timer-{self.target.name}")

    async def stop(self) -> None:
        """Stop the schedule."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _load_status(self) -> dict[str, str | None]:
        if not self.monitor or self.status_file is None or not self.status_file.exists():
            return dict(self._status) if self.monitor else {}
        try:
            return dict(json.loads(self.status_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def _save_status(self, last: datetime | None, next_: datetime) -> None:
        status = {"Last": _iso(last), "Next": _iso(next_), "LastUpdated": _iso(self.now())}
        self._status = status
        if self.monitor and self.status_file is not None:
            write_private(self.status_file, json.dumps(status))

    async def _run(self) -> None:
        status = self._load_status()
        recorded_next = datetime.fromisoformat(status["Next"]) if status.get("Next") else None
        next_due = self.schedule.next_after(self.now())
        if recorded_next is not None and recorded_next <= self.now():
            await self._fire(past_due=True, last=recorded_next, next_due=next_due)
        elif self.run_on_startup:
            await self._fire(past_due=False, last=None, next_due=next_due)
        elif not status:
            # The monitor records the first Next at start, so a host down over it finds it past due.
            self._save_status(None, next_due)
        while True:
            remaining = (next_due - self.now()).total_seconds()
            if remaining > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), min(remaining, 60.0))
                continue
            occurrence = next_due
            next_due = self.schedule.next_after(self.now())
            await self._fire(past_due=False, last=occurrence, next_due=next_due)

    async def _fire(self, *, past_due: bool, last: datetime | None, next_due: datetime) -> None:
        request = {
            "Schedule": {"AdjustForDST": True},
            "ScheduleStatus": {"Last": _iso(last), "Next": _iso(next_due), "LastUpdated": _iso(self.now())}
            if self.monitor
            else None,
            "IsPastDue": past_due,
        }
        policy = self.target.retry
        reason = f"Timer fired at {self.now().isoformat()}"
        attempt, failed = 0, None
        while True:
            retry = Retry(attempt, policy.max_retry_count, failed) if policy else None
            try:
                await invoke(
                    self.invoker,
                    self.target,
                    self.client_binding,
                    meta.Datum(json.dumps(request), "json"),
                    {},
                    {},
                    reason,
                    retry,
                )
                break
            except Exception as exc:  # logged by invoke; retried under a policy, else the schedule goes on
                attempt, failed = attempt + 1, exc
                if policy is None or not policy.allows(attempt):
                    break
                await asyncio.sleep(policy.delay_before(attempt))
        self._save_status(last or self.now(), next_due)
