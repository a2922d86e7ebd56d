"""Retries: the policy an executor declares, the errors that steer it, and THE retry decision.

Every runner (the in-memory runner, the durable orchestrator) asks ``retry_delay`` whether a failed
attempt is followed by another one and after how long; nothing else decides it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator


class RetryPolicy(BaseModel):
    """How often, and how patiently, a failing executor is tried again."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    max_attempts: int = Field(default=3, ge=1)
    first_interval: timedelta = timedelta(seconds=1)
    backoff_coefficient: float = Field(default=2.0, ge=1.0)
    max_interval: timedelta = timedelta(minutes=5)
    non_retryable: tuple[type[BaseException], ...] = ()

    @field_validator("first_interval", "max_interval")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative")
        return value

    def delay_before(self, attempt: int) -> timedelta:
        """The backoff before ``attempt`` (2 is the first retry)."""
        first = self.first_interval.total_seconds()
        try:
            seconds = first * self.backoff_coefficient ** max(attempt - 2, 0)
        except OverflowError:  # a long retry series: far beyond any max_interval
            seconds = math.inf if first > 0 else 0.0
        # Capped before it becomes a timedelta, which overflows long before a float does.
        return timedelta(seconds=min(seconds, self.max_interval.total_seconds()))


class NonRetryableError(Exception):
    """Raise from an executor to fail its step at once, whatever its retry policy says."""


class TransientError(Exception):
    """A failure worth another attempt; ``retry_after`` (from a server's Retry-After) stretches the wait."""

    def __init__(self, message: str, *, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StepTimedOut(TransientError):
    """An attempt ran longer than its executor's ``timeout``: abandoned, and retried under its policy."""

    def __init__(self, executor_id: str, timeout: timedelta) -> None:
        seconds = timeout.total_seconds()
        super().__init__(f"executor {executor_id!r} took longer than its timeout of {seconds:g} s")


@dataclass(frozen=True, slots=True)
class FailureKind:
    """What a failed attempt says about retrying, classified where the exception was raised.

    ``retryable`` is False for ``NonRetryableError`` and the policy's ``non_retryable`` types;
    ``retry_after`` is a server's Retry-After carried by a ``TransientError``.
    """

    retryable: bool
    retry_after: timedelta | None = None


def classify(error: BaseException, policy: RetryPolicy | None) -> FailureKind:
    """Whether a failure may be retried under ``policy``, and the delay a ``TransientError`` asks for."""
    retryable = not isinstance(error, NonRetryableError) and (
        policy is None or not isinstance(error, policy.non_retryable)
    )
    retry_after = error.retry_after if isinstance(error, TransientError) else None
    return FailureKind(retryable, retry_after)


def retry_delay(policy: RetryPolicy | None, failure: FailureKind, attempt: int) -> timedelta | None:
    """The wait before the attempt after ``attempt``, or None when the step has failed for good."""
    if policy is None or not failure.retryable or attempt >= policy.max_attempts:
        return None
    delay = policy.delay_before(attempt + 1)
    if failure.retry_after is not None:
        delay = max(delay, failure.retry_after)
    return delay
