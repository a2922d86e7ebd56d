"""What a read found of an orchestration a run started for itself (a map partition of approvals, a
looping step's orchestration): its runtime status and its own history folded, and the approvals that
fold holds open or closed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from engine.core.run_state import ClosedApproval, PendingApproval
from engine.durable.phase import FINISHED, FINISHED_FOR_GOOD
from engine.durable.run_snapshot import RunSnapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildRead:
    """A child orchestration as one read found it (``snapshot`` is None when its history was not read)."""

    runtime: str | None
    snapshot: RunSnapshot | None

    @property
    def pending(self) -> list[PendingApproval]:
        """The approvals it holds open (none once it has finished)."""
        if self.runtime in FINISHED or self.snapshot is None:
            return []
        return list(self.snapshot.open_approvals)

    @property
    def closed(self) -> list[ClosedApproval]:
        """How its approvals closed."""
        return list(self.snapshot.closed_approvals) if self.snapshot is not None else []


Kept = TypeVar("Kept")


class FinishedReads(Generic[Kept]):
    """What one request read of orchestrations that had completed or were terminated, by instance id: such
    a history no longer changes, so a request that reads the same run again (the event feed's long poll, every
    quarter second) neither reads nor folds them again."""

    def __init__(self) -> None:
        self._kept: dict[str, Kept] = {}

    def get(self, instance_id: str) -> Kept | None:
        """What was read of ``instance_id`` once it had finished, if it was."""
        return self._kept.get(instance_id)

    def keep(self, instance_id: str, runtime: str | None, read: Kept) -> Kept:
        """``read`` (returned), kept when ``runtime`` says the orchestration has finished."""
        if runtime in FINISHED_FOR_GOOD:  # a failed one may be rewound: read again each time
            self._kept[instance_id] = read
        return read


__all__ = ["ChildRead", "FinishedReads"]
