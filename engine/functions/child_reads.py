"""What a read found of an orchestration a run started for itself (a map partition of approvals, a
looping step's orchestration): its runtime status and its own history folded, and the approvals that
fold holds open or closed."""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.run_state import ClosedApproval, PendingApproval
from engine.durable.phase import FINISHED
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


__all__ = ["ChildRead"]
