"""The extension's asynchronous HTTP 202 pattern on the management webhooks: the status code and headers
of a status query, and waiting on a start for the instance to finish (HttpApiHandler.cs in
Azure/azure-functions-durable-extension: HandleGetStatusRequestAsync, CreateCheckStatusResponseMessage,
WaitForCompletionOrCreateCheckStatusResponseAsync)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from devhost.durable.task_hub_store import InstanceRecord

# A status query of a running instance asks for 5 s; a check-status response (a start) for 10 s.
STATUS_RETRY_AFTER = "5"
CHECK_STATUS_RETRY_AFTER = "10"
# Still running: 202 with a Location to poll. Failed: 500 only when asked, else 200 like the other ends.
RUNNING = {"Pending", "Running", "ContinuedAsNew", "Suspended"}
FINISHED = {"Completed", "Failed", "Terminated", "Canceled"}
# The extension waits pollingInterval between reads; a zero interval would spin devhost's loop.
MIN_POLL_SECONDS = 0.01


def status_code(status: str, *, server_error_on_failure: bool) -> int:
    """A status query's HTTP status for this runtime status: 202 while running, 200 once finished (500 for
    a failure when asked)."""
    if status in RUNNING:
        return 202
    if status == "Failed":
        return 500 if server_error_on_failure else 200
    if status in FINISHED:
        return 200
    return 500  # the extension logs an unknown runtime status and answers 500


def status_headers(code: int, location: str) -> dict[str, str]:
    """Only a 202 names where to poll, and how long to wait first."""
    if code != 202:
        return {}
    return {"Location": location, "Retry-After": STATUS_RETRY_AFTER}


def check_status_headers(status_query_uri: str) -> dict[str, str]:
    """A check-status response's headers: Location (the status query) and Retry-After."""
    return {"Location": status_query_uri, "Retry-After": CHECK_STATUS_RETRY_AFTER}


def query_bool(value: str | None) -> bool | None:
    """A boolean query parameter as .NET's bool.TryParse reads it (None: absent or not a boolean)."""
    text = (value or "").strip().lower()
    return {"true": True, "false": False}.get(text)


def query_seconds(value: str | None, name: str) -> float | None:
    """``timeout`` / ``pollingInterval``: seconds, as a number (the extension parses a double; a value it
    cannot parse is as if absent)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    if seconds < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}.")
    return seconds


@dataclass(frozen=True)
class Wait:
    """How long a start waits for its instance to finish, and how often it looks (seconds)."""

    timeout: float
    interval: float


def requested_wait(timeout: str | None, polling_interval: str | None) -> Wait | None:
    """The wait a start asks for: both ``timeout`` and ``pollingInterval`` given (the extension waits only
    then), the interval no longer than the timeout (else its ArgumentException: a 400)."""
    seconds = query_seconds(timeout, "timeout")
    interval = query_seconds(polling_interval, "pollingInterval")
    if seconds is None or interval is None:
        return None
    if interval > seconds:
        raise ValueError(f"Total timeout {seconds:g} should be bigger than retry timeout {interval:g}.")
    return Wait(seconds, interval)


async def wait_until_finished(read: Callable[[], InstanceRecord | None], wait: Wait) -> InstanceRecord | None:
    """Read the instance every ``wait.interval`` until it finished or ``wait.timeout`` passed: the last
    read."""
    deadline = time.monotonic() + wait.timeout
    while True:
        rec = read()
        if rec is not None and rec.status in FINISHED:
            return rec
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return rec
        await asyncio.sleep(max(MIN_POLL_SECONDS, min(wait.interval, remaining)))
