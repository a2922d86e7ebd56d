"""Function retry policies (``@app.retry``) as the host applies them to the triggers that support them
(of those devhost runs: the timer trigger; queue and blob triggers retry through their queue instead):
the function runs again after a failure, up to max_retry_count more times (-1: until it succeeds), after
a fixed delay or an exponential back-off between minimum_interval and maximum_interval, with the attempt
in ``context.retry_context``. The host adds a little random jitter to the back-off; devhost does not."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from devhost.config.errors import DevHostError

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def _seconds(value: Any, key: str, function: str) -> float:
    match = _TIMESPAN.match(str(value or "").strip())
    if not match:
        raise DevHostError(
            f"function '{function}': retry {key} must be a time span like 00:00:05, got {value!r}"
        )
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """A function's ``@app.retry`` policy."""

    strategy: str  # fixed_delay | exponential_backoff
    max_retry_count: int  # -1: no limit
    delay: float = 0.0  # fixed_delay
    minimum: float = 0.0  # exponential_backoff
    maximum: float = 0.0

    def allows(self, retry_count: int) -> bool:
        """Whether retry number ``retry_count`` (1 for the first retry) is to run."""
        return self.max_retry_count < 0 or retry_count <= self.max_retry_count

    def delay_before(self, retry_count: int) -> float:
        """Seconds to wait before retry number ``retry_count``: the fixed delay, or the back-off doubled
        per retry up to the maximum."""
        if self.strategy == "fixed_delay":
            return self.delay
        return min(self.maximum, self.minimum * 2 ** (retry_count - 1))


def retry_policy(function: Any) -> RetryPolicy | None:
    """The function's ``retry_policy`` setting (azure.functions' RetryPolicy), or None."""
    setting = function.get_setting("retry_policy")
    if setting is None:
        return None
    raw = setting.get_dict_repr()
    name = function.get_function_name()
    strategy = str(raw.get("strategy", "")).lower()
    try:
        count = int(raw.get("max_retry_count"))
    except (TypeError, ValueError):
        raise DevHostError(f"function '{name}': retry max_retry_count must be a number") from None
    if strategy == "fixed_delay":
        return RetryPolicy(strategy, count, delay=_seconds(raw.get("delay_interval"), "delay_interval", name))
    if strategy == "exponential_backoff":
        low = _seconds(raw.get("minimum_interval"), "minimum_interval", name)
        high = _seconds(raw.get("maximum_interval"), "maximum_interval", name)
        return RetryPolicy(strategy, count, minimum=low, maximum=max(low, high))
    raise DevHostError(f"function '{name}': retry strategy must be fixed_delay or exponential_backoff")
