"""Time as the in-memory runner sees it: injectable, so a test can pass a 24-hour deadline at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the in-memory runner asks of time: the current instant, and a sleep."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""

    async def sleep(self, delay: timedelta) -> None:
        """Wait for ``delay`` on this clock."""


class SystemClock:
    """The real clock: wall time in UTC, and asyncio's sleep."""

    def now(self) -> datetime:
        """The wall time now, in UTC."""
        return datetime.now(UTC)

    async def sleep(self, delay: timedelta) -> None:
        """Sleep for ``delay`` in real time."""
        await asyncio.sleep(delay.total_seconds())


class ManualClock:
    """A clock that moves only when told; sleeping advances it instead of waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)
        self._wakes: list[datetime] = []

    def now(self) -> datetime:
        """The clock's time, which moves only by ``advance`` and by sleeps."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self._now += delta

    async def sleep(self, delay: timedelta) -> None:
        """Advance the clock to the end of the sleep instead of waiting for it."""
        # Concurrent sleepers share the timeline: two 30 s sleeps begun together both end 30 s later
        # (not 60), and the one due first wakes first.
        wake = self._now + delay
        self._wakes.append(wake)
        try:
            await asyncio.sleep(0)  # let the other tasks that are about to sleep register
            while min(self._wakes) < wake:
                await asyncio.sleep(0)
            self._now = max(self._now, wake)
        finally:
            self._wakes.remove(wake)
