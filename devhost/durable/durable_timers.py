"""Durable timers: queued messages with a due time, fired when the host clock reaches it."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import Callable

from devhost.config.host_clock import Clock
from devhost.durable.task_hub_store import WorkItem


class TimerService:
    """Holds queued messages that are due later and fires each (hands it to the task hub) once the host
    clock reaches its time."""

    def __init__(self, clock: Clock, fire: Callable[[WorkItem], None]) -> None:
        self.clock = clock
        self._fire = fire
        self._heap: list[tuple[float, int]] = []
        self._items: dict[int, WorkItem] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()
        # The test clock can jump: wake up and fire whatever became due.
        clock.on_change(self._clock_moved)

    def _clock_moved(self) -> None:
        self._loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        """Start firing due messages."""
        self._task = asyncio.create_task(self._run(), name="devhost-timers")

    async def stop(self) -> None:
        """Stop firing."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def add(self, item: WorkItem) -> None:
        """Hold a message until its due time."""
        assert item.due is not None
        self._items[item.id] = item
        heapq.heappush(self._heap, (item.due, item.id))
        self._wake.set()

    def cancel(self, work_id: int) -> None:
        """Never fire this message (it was deleted)."""
        self._items.pop(work_id, None)  # the heap entry is skipped lazily

    def fire_due(self) -> None:
        """Fire every held message whose time has come, earliest first."""
        now = self.clock.timestamp()
        while self._heap and self._heap[0][0] <= now:
            _, wid = heapq.heappop(self._heap)
            item = self._items.pop(wid, None)
            if item is not None:
                self._fire(item)

    async def _run(self) -> None:
        while True:
            self.fire_due()
            self._wake.clear()
            timeout = None
            if self._heap:
                timeout = max(0.0, min(self._heap[0][0] - self.clock.timestamp(), 60.0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
