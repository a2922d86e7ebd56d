"""The versions of each workflow an app serves, and which one a run belongs to.

An app may list several versions of one workflow (the last listed is the newest, which new runs start
on). A run is pinned to the version and fingerprint it started on; it continues only on a graph with
that exact fingerprint, never on another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.core.graph import Workflow


class VersionNotAvailable(LookupError):
    """The graph a run started on is not served by this app (removed, or changed under its label)."""

    def __init__(self, name: str, version: str, fingerprint: str | None, available: list[Workflow]) -> None:
        self.name, self.version, self.fingerprint = name, version, fingerprint
        self.available = [(w.version, w.fingerprint) for w in available]
        listed = ", ".join(f"{v} ({f})" for v, f in self.available) or "none"
        super().__init__(
            f"workflow {name!r}: this run started on version {version!r} (fingerprint {fingerprint}), "
            f"which this app no longer serves; it serves {listed}. Deploy that version again (keep it in "
            "ALL beside the new one) to let such runs go on."
        )


@dataclass(frozen=True, slots=True)
class WorkflowVersions:
    """Every version of every workflow of an app, by name, oldest first."""

    by_name: dict[str, tuple[Workflow, ...]]

    @classmethod
    def of(cls, workflows: Iterable[Workflow]) -> WorkflowVersions:
        """The versions of each workflow, in the order listed; ValueError when a label is listed twice."""
        by_name: dict[str, list[Workflow]] = {}
        for workflow in workflows:
            listed = by_name.setdefault(workflow.name, [])
            if any(w.version == workflow.version for w in listed):
                raise ValueError(
                    f"workflow {workflow.name!r} is listed twice with version {workflow.version!r}: "
                    "give each version its own label (WorkflowBuilder(..., version=...))"
                )
            listed.append(workflow)
        return cls({name: tuple(listed) for name, listed in by_name.items()})

    def newest(self) -> dict[str, Workflow]:
        """The newest version of each workflow, which new runs start on."""
        return {name: listed[-1] for name, listed in self.by_name.items()}

    def versions(self, name: str) -> tuple[Workflow, ...]:
        """Every version of the workflow served under ``name``, oldest first (empty when there is none)."""
        return self.by_name.get(name, ())

    def labelled(self, name: str, version: str) -> Workflow | None:
        """The version of ``name`` with this label, if the app serves it."""
        return next((w for w in self.versions(name) if w.version == version), None)

    def for_run(self, name: str, version: str | None, fingerprint: str | None) -> Workflow:
        """The graph a run replays on. Runs from before versions were recorded take the newest."""
        listed = self.versions(name)
        if not listed:
            raise VersionNotAvailable(name, version or "(unrecorded)", fingerprint, [])
        if version is None:
            return listed[-1]
        match = self.labelled(name, version)
        if match is None or (fingerprint is not None and match.fingerprint != fingerprint):
            raise VersionNotAvailable(name, version, fingerprint, list(listed))
        return match
