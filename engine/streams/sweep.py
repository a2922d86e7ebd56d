"""The sweep: streams whose run is gone, purged.

Purging a run through the workflow API purges its streams at once; a purge that bypasses it (the Durable
Functions management API's ``DELETE .../instances/{id}``, an SDK client, the task hub's own retention)
does not call the app. The sweep finds what such purges left: it lists the runs the store holds
(``StreamStore.runs``), asks the backend for each (``lookup``), and purges the streams of a run the
backend no longer has, and those written by an earlier execution of an instance id now reused (streams
are kept under the execution's nonce, ``stream_step``, which the stream route never reads for another
execution). The Functions app runs it on a timer, ``python -m engine serve`` as a periodic task.

The backend is reached through ``lookup`` (this layer imports only ``core``): the hosting that runs the
sweep says how it reads a run.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from engine.core.streams import StreamStore, stream_execution

SCHEDULE_SETTING = "ENGINE_STREAMS_SWEEP_SCHEDULE"
DEFAULT_SCHEDULE = "0 */15 * * * *"  # NCRONTAB: every 15 minutes; a purged run's chunks stay no longer
INTERVAL_SETTING = "ENGINE_STREAMS_SWEEP_SECONDS"
DEFAULT_INTERVAL = 900.0  # serve's period: the same 15 minutes
LOOKUPS_AT_ONCE = 16  # runs asked about together: the backend is not flooded, a large store is not slow

log = logging.getLogger("engine.streams")


@dataclass(frozen=True, slots=True)
class Current:
    """What the backend holds under an instance id: a run of this execution (nonce; None for none)."""

    execution: str | None


# The run under an instance id as the backend has it now; None: the backend has no such instance.
Lookup = Callable[[str], Awaitable[Current | None]]


@dataclass(frozen=True, slots=True)
class Swept:
    """What one sweep did: the runs it looked at, those whose streams (all or some) it purged, the chunks."""

    runs: int = 0
    purged: int = 0
    chunks: int = 0


async def _sweep_run(store: StreamStore, lookup: Lookup, instance_id: str, steps: set[str]) -> int | None:
    """The chunks purged of one run's streams; None when none was to go."""
    current = await lookup(instance_id)
    if current is None:
        return await store.purge(instance_id)
    stale = {s for s in steps if stream_execution(s) != current.execution}
    return await store.purge(instance_id, stale) if stale else None


async def sweep(store: StreamStore, lookup: Lookup) -> Swept:
    """Purge the streams of runs ``lookup`` no longer finds, and of executions that are not the current."""
    held = list((await store.runs()).items())
    outcomes: list[int | None] = []
    for start in range(0, len(held), LOOKUPS_AT_ONCE):  # one status read a run: a few at a time
        batch = held[start : start + LOOKUPS_AT_ONCE]
        outcomes += await asyncio.gather(*(_sweep_run(store, lookup, i, steps) for i, steps in batch))
    purged = [chunks for chunks in outcomes if chunks is not None]
    if purged:
        log.info(
            "stream sweep: purged the streams of %d of %d runs (%d chunks)",
            len(purged),
            len(held),
            sum(purged),
        )
    return Swept(runs=len(held), purged=len(purged), chunks=sum(purged))


async def sweep_every(seconds: float, store: Callable[[], StreamStore], lookup: Lookup) -> None:
    """Sweep ``store()`` (the process's store, chosen at each use) every ``seconds``, until cancelled; a
    sweep that fails (the backend or the store unreachable) is logged and the next one tried."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await sweep(store(), lookup)
        except Exception:
            log.exception("stream sweep failed; trying again in %s s", seconds)


def sweep_interval(raw: str | None) -> float:
    """``ENGINE_STREAMS_SWEEP_SECONDS`` read: a positive, finite number of seconds (the default when unset);
    ``ValueError`` naming the setting otherwise."""
    if raw is None or not raw.strip():
        return DEFAULT_INTERVAL
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{INTERVAL_SETTING}={raw!r} is not a positive number of seconds")
    return seconds


__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_SCHEDULE",
    "INTERVAL_SETTING",
    "SCHEDULE_SETTING",
    "Current",
    "Lookup",
    "Swept",
    "sweep",
    "sweep_every",
    "sweep_interval",
]
