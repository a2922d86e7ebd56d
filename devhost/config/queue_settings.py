"""host.json ``extensions.queues``: how the queue trigger polls and what it does with a failed message.

Defaults and limits as the Storage Queues extension (v5) has them (``QueuesOptions``): batchSize 16 (at
most 32, the service's cap per get), newBatchThreshold batchSize/2 (the host multiplies it by the vCPUs
on App Service plans; devhost, like Consumption, by 1), maxPollingInterval 1 minute (at least 100 ms),
visibilityTimeout 0, maxDequeueCount 5, messageEncoding base64.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.config.errors import DevHostError

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class QueueSettings:
    """host.json ``extensions.queues``, with the extension's defaults."""

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: float = 60.0  # seconds
    visibility_timeout: float = 0.0  # seconds
    max_dequeue_count: int = 5
    message_encoding: str = "base64"


def _seconds(value: Any, key: str, path: Path) -> float:
    """A TimeSpan as host.json writes it ("00:00:02", "1.00:00:00") or, for maxPollingInterval, a number
    of milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0
    if isinstance(value, str):
        match = _TIMESPAN.match(value.strip())
        if match:
            days, hours, minutes, seconds = match.groups()
            return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    raise DevHostError(f'{path}: extensions.queues.{key} must be a time span like "00:00:30", got {value!r}')


def _count(value: Any, key: str, path: Path, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
        bound = f"between {low} and {high}" if high else f"at least {low}"
        raise DevHostError(f"{path}: extensions.queues.{key} must be an integer {bound}, got {value!r}")
    return value


def parse_queue_settings(raw: Any, path: Path) -> QueueSettings:
    """``extensions.queues`` read and checked against the extension's limits; a ``DevHostError`` naming the
    file for a value it would refuse."""
    if raw is None:
        return QueueSettings()
    if not isinstance(raw, dict):
        raise DevHostError(f"{path}: 'extensions.queues' must be an object")
    batch = _count(raw.get("batchSize", 16), "batchSize", path, 1, 32)
    threshold = raw.get("newBatchThreshold")
    encoding = str(raw.get("messageEncoding", "base64")).lower()
    if encoding not in ("base64", "none"):
        raise DevHostError(
            f"{path}: extensions.queues.messageEncoding must be base64 or none, got {encoding!r}"
        )
    polling = (
        _seconds(raw["maxPollingInterval"], "maxPollingInterval", path)
        if "maxPollingInterval" in raw
        else 60.0
    )
    return QueueSettings(
        batch_size=batch,
        new_batch_threshold=batch // 2
        if threshold is None
        else _count(threshold, "newBatchThreshold", path, 0),
        max_polling_interval=max(0.1, polling),
        visibility_timeout=_seconds(raw.get("visibilityTimeout", "00:00:00"), "visibilityTimeout", path),
        max_dequeue_count=_count(raw.get("maxDequeueCount", 5), "maxDequeueCount", path, 1),
        message_encoding=encoding,
    )
