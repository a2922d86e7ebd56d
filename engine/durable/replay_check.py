"""Replay recorded histories against the current code, before deploying it.

Each run's history (as the status API shows it with ``showHistory``) is re-executed through the real
orchestrator (``engine.durable.fold``), fed the recorded results. A run *replays cleanly* when the code
asks for exactly the steps the history recorded, each with the identity it was recorded under. It *would
break* when the graph it started on is not served (its version was removed or changed under the same
label), when a recorded result belongs to another step than the code expects (a non-deterministic
replay), or when the history holds steps the code no longer asks for. Comparing fingerprints alone would
miss the last two: a condition's body can change under the same name.

Usable from pytest, as Temporal users keep recorded histories with its ``Replayer``::

    runs = load_recorded_runs(Path("tests/histories"))
    assert [v.describe() for v in replay_check(ALL, runs) if not v.ok] == []
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.core.graph import Workflow
from engine.core.jsontext import unwrapped
from engine.core.subworkflow import with_subworkflows
from engine.core.versions import VersionNotAvailable, WorkflowVersions
from engine.durable.admission import started_input
from engine.durable.fold import fold
from engine.durable.history import HistoryEvent, typed_events
from engine.durable.orchestrator import DEFAULT_CONTINUE_EVERY, STEP_ACTIVITY


class RecordedRun(BaseModel):
    """A run as the status API answers ``GET .../instances/{id}?showHistory=true&showHistoryOutput=true
    &showInput=true``: the history of its current execution (an earlier one lives in its checkpoint)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    instance_id: str = Field(alias="instanceId")
    name: str
    runtime_status: str | None = Field(default=None, alias="runtimeStatus")
    history: list[HistoryEvent] = Field(default_factory=list, alias="historyEvents")

    @field_validator("history", mode="before")
    @classmethod
    def _known_events(cls, value: Any) -> list[HistoryEvent]:
        return typed_events(value)


class ReplayVerdict(BaseModel):
    """Whether one run replays cleanly on the current code, and if not, where and why it would break."""

    instance_id: str
    workflow: str
    runtime_status: str | None = None
    version: str | None = None
    ok: bool
    step: str | None = None  # the step where it would break, when one is to blame
    problem: str | None = None

    def describe(self) -> str:
        """The verdict as one line: the run, and whether it replays cleanly or where and why it breaks."""
        version = f" version {self.version}" if self.version else ""
        run = f"{self.instance_id} ({self.workflow}{version})"
        if self.ok:
            return f"{run}: replays cleanly"
        where = f" at step {self.step!r}" if self.step else ""
        return f"{run}: would break{where} because {self.problem}"


def replay_check(
    workflows: Iterable[Workflow] | WorkflowVersions,
    runs: Iterable[RecordedRun],
    *,
    activity: str = STEP_ACTIVITY,
    continue_every: int = DEFAULT_CONTINUE_EVERY,
) -> list[ReplayVerdict]:
    """One verdict per run that is a run of one of ``workflows`` (by name); other orchestrations of the
    app are not this engine's to judge."""
    # Sub-workflows are served with the workflows that use them, and their runs replay like any run.
    if isinstance(workflows, WorkflowVersions):
        versions = workflows
    else:
        versions = WorkflowVersions.of(with_subworkflows(workflows))
    verdicts = []
    for run in runs:
        if versions.versions(run.name) or _is_workflow_run(run):
            verdicts.append(_check(versions, run, activity, continue_every))
    return verdicts


def _is_workflow_run(run: RecordedRun) -> bool:
    """A run of a workflow this code no longer has at all (its input is the engine's own)."""
    started = next((e for e in run.history if e.type == "ExecutionStarted"), None)
    raw = unwrapped(started.input) if started is not None else None
    return isinstance(raw, dict) and "strict_answers" in raw


def _check(versions: WorkflowVersions, run: RecordedRun, activity: str, every: int) -> ReplayVerdict:
    started = next((e for e in run.history if e.type == "ExecutionStarted"), None)
    try:
        pinned = started_input(unwrapped(started.input)) if started else None
    except ValueError:
        pinned = None
    verdict = ReplayVerdict(
        instance_id=run.instance_id,
        workflow=run.name,
        runtime_status=run.runtime_status,
        version=pinned.version if pinned else None,
        ok=True,
    )
    if started is None:
        return verdict  # not started yet: it will start on whichever graph it names
    try:
        folded = fold(
            versions, run.instance_id, run.history, activity=activity, continue_every=every, name=run.name
        )
    except VersionNotAvailable as exc:
        return verdict.model_copy(update={"ok": False, "problem": str(exc)})
    drift = folded.drift()
    if drift is not None:
        step, problem = drift
        return verdict.model_copy(update={"ok": False, "step": step, "problem": problem})
    return verdict


def recorded_runs(document: Any) -> list[RecordedRun]:
    """Runs from JSON: one status object, a list of them, or ``{"runs": [...]}`` (``devhost.export``)."""
    if isinstance(document, dict) and isinstance(document.get("runs"), list):
        document = document["runs"]
    items = document if isinstance(document, list) else [document]
    return [RecordedRun.model_validate(item) for item in items]


def load_recorded_runs(path: Path) -> list[RecordedRun]:
    """Runs from a JSON file, or from every ``*.json`` file of a folder (sorted by name)."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    runs: list[RecordedRun] = []
    for file in files:
        runs += recorded_runs(json.loads(file.read_text(encoding="utf-8")))
    return runs


__all__ = ["RecordedRun", "ReplayVerdict", "load_recorded_runs", "recorded_runs", "replay_check"]
