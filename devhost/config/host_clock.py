"""Host time. The real clock, or a test clock that flows with real time plus a movable offset."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """The host's clock: real time plus an offset a test can only move forward (``advance``)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        """Aware UTC datetime."""
        with self._lock:
            return datetime.now(UTC) + self._offset

    def timestamp(self) -> float:
        """The clock's time as epoch seconds."""
        return self.now().timestamp()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each ``advance``."""
        self._listeners.append(listener)

    def advance(self, delta: timedelta) -> None:
        """Move time forward; listeners (the timer service) react so due timers fire promptly."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += delta
        for listener in list(self._listeners):
            listener()
