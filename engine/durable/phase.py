"""The words for where a run is, and the one rule from which its phase follows.

Three things are called "status" around a durable run, and each has one meaning here:

- the **runtime status** is the host's (``Running``, ``Completed``, ``Failed``, ``Terminated``, ...), read
  with ``runtime_name``; ``FINISHED`` are the ones a run never leaves;
- the **phase** is ours, what a person wants to know: ``pending``, ``running``, ``waiting_for_approval``,
  ``completed``, ``failed``, ``terminated``; ``phase_of`` is its one rule;
- the run's **custom status** (``engine.durable.status.RunStatus``) carries the phase and a few counts for
  lists of runs, where folding every run's history would cost too much.
"""

from __future__ import annotations

from typing import Any, Literal

Phase = Literal["pending", "running", "waiting_for_approval", "completed", "failed", "terminated"]
FINISHED = frozenset({"Completed", "Failed", "Terminated"})
# Finished for good: a failed instance may still be rewound and run on.
FINISHED_FOR_GOOD = frozenset({"Completed", "Terminated"})
UNFINISHED = ("Running", "Pending", "Suspended", "ContinuedAsNew")
RUNTIME_STATUSES = (*UNFINISHED, "Completed", "Failed", "Terminated")


def runtime_name(status: Any) -> str | None:
    """The runtime status of an SDK status object, as its name (None: no such instance)."""
    value = getattr(status, "runtime_status", None)
    return getattr(value, "value", value)


def phase_of(
    runtime: str | None, *, ended: str | None = None, running: int = 0, asking: bool = False
) -> Phase:
    """THE phase rule. A finished run is its runtime status; one the host has not started is pending; a
    run waits for a person when it asks one (itself or in a map partition) with no step running; else it
    runs. ``ended``: how the orchestrator itself says the run ended ("completed", "failed"), before the
    host has recorded it."""
    if runtime in FINISHED:
        return str(runtime).lower()  # type: ignore[return-value]
    if ended in ("completed", "failed"):
        return ended  # type: ignore[return-value]
    if runtime == "Pending":
        return "pending"
    return "waiting_for_approval" if asking and not running else "running"


__all__ = [
    "FINISHED",
    "FINISHED_FOR_GOOD",
    "RUNTIME_STATUSES",
    "UNFINISHED",
    "Phase",
    "phase_of",
    "runtime_name",
]
