"""The crash campaign's entity part: a second devhost (``entity_app``) whose orchestrations signal and call
counter entities, killed with ``kill -9`` at the same moments as the workflow host and restarted on its
own state file.

Each run of ``count_up`` sends, per round, ``signals`` signals and one call to the counter of its key,
every operation tagged uniquely. Afterwards: every run Completed, each run's call results strictly
increase (a call sees its own earlier operations), every history is well-formed and every call's
EventSent has exactly one answer, and each counter applied each expected tag exactly once (none lost,
none twice) and nothing else.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.durable.history import EventType
from devhost.durable.task_hub_store import SqliteStore
from devhost.testing import DevHostProcess
from tests.durable.http import Reply, call

APP = Path(__file__).resolve().parent / "entity_app"
ORCHESTRATOR = "count_up"
ENTITY_FUNCTION = "Counter"  # as the host's log names the entity function
WEBHOOK = "/runtime/webhooks/durabletask"


@dataclass
class EntityRun:
    instance_id: str
    key: str
    rounds: int
    signals: int
    delay_ms: int
    due: bool = False
    started: bool = False
    final: dict[str, Any] | None = None

    def tags(self) -> list[str]:
        return [
            f"{self.instance_id}:{r}:{kind}"
            for r in range(self.rounds)
            for kind in [*(f"s{j}" for j in range(self.signals)), "c"]
        ]


def _try(method: str, url: str, body: Any = None) -> Reply | None:
    try:
        return call(method, url, body)
    except (OSError, http.client.HTTPException):
        return None


def plan_entity_runs(runs: int, keys: int, rounds: int, signals: int, delay_ms: int) -> list[EntityRun]:
    return [EntityRun(f"crash-counter-{i}", f"k{i % keys}", rounds, signals, delay_ms) for i in range(runs)]


class EntityDriver:
    def __init__(self, process: DevHostProcess, runs: list[EntityRun]) -> None:
        self.process = process
        self.runs = runs
        self.problems: list[str] = []

    @property
    def webhook(self) -> str:
        return f"{self.process.base_url}{WEBHOOK}"

    def _start(self, run: EntityRun) -> None:
        # Started once: a start whose reply was lost may have been committed, and starting a finished
        # instance again would send its operations again; so look before starting.
        existing = _try("GET", f"{self.webhook}/instances/{run.instance_id}")
        if existing is None:
            return
        if existing.status != 404:
            run.started = True
            return
        body = {"key": run.key, "rounds": run.rounds, "signals": run.signals, "delay_ms": run.delay_ms}
        reply = _try("POST", f"{self.webhook}/orchestrators/{ORCHESTRATOR}/{run.instance_id}", body)
        if reply is not None and reply.status in (202, 409):
            run.started = True
        elif reply is not None:
            self.problems.append(f"{run.instance_id}: start answered {reply.status} {reply.body}")
            run.started, run.final = True, {"runtimeStatus": "NotStarted"}

    def step(self) -> int:
        """One pass: start due runs, notice finished ones; the runs still open."""
        open_runs = 0
        for run in self.runs:
            if run.final is not None or not run.due:
                continue
            open_runs += 1
            if not run.started:
                self._start(run)
                continue
            reply = _try("GET", f"{self.webhook}/instances/{run.instance_id}")
            if reply is not None and reply.status == 200:
                run.final = reply.body
                open_runs -= 1
        return open_runs

    def audit(self) -> EntityAudit:
        """With the host up: the runs' outcomes and the counters' tags."""
        found = EntityAudit(runs=len(self.runs), problems=list(self.problems))
        for run in self.runs:
            final = run.final or {}
            seen = final.get("output")
            if final.get("runtimeStatus") != "Completed":
                found.lost_runs += 1
                found.problems.append(f"{run.instance_id}: ended {final.get('runtimeStatus')} {seen!r}")
            elif not (isinstance(seen, list) and len(seen) == run.rounds and seen == sorted(set(seen))):
                found.problems.append(f"{run.instance_id}: call results not strictly increasing: {seen!r}")
        for key in sorted({r.key for r in self.runs}):
            expected = {t for r in self.runs if r.key == key for t in r.tags()}
            found.operations_expected += len(expected)
            reply = _try("GET", f"{self.webhook}/entities/Counter/{key}")
            if reply is None or reply.status != 200:
                found.problems.append(f"counter {key}: state answered {reply and reply.status}")
                found.lost_operations += len(expected)
                continue
            tags: dict[str, int] = reply.body["tags"]
            found.operations_applied += sum(tags.values())
            lost = expected - tags.keys()
            twice = {t: n for t, n in tags.items() if n > 1}
            stray = tags.keys() - expected
            found.lost_operations += len(lost)
            found.duplicate_operations += sum(n - 1 for n in twice.values()) + sum(tags[t] for t in stray)
            if reply.body["count"] != sum(tags.values()):
                found.problems.append(
                    f"counter {key}: count {reply.body['count']} but {sum(tags.values())} tags"
                )
            if lost:
                found.problems.append(f"counter {key}: {len(lost)} operations lost, e.g. {sorted(lost)[:3]}")
            if twice or stray:
                found.problems.append(
                    f"counter {key}: applied twice {sorted(twice)[:3]}, stray {sorted(stray)[:3]}"
                )
        return found


@dataclass
class EntityAudit:
    runs: int = 0
    lost_runs: int = 0
    operations_expected: int = 0
    operations_applied: int = 0
    lost_operations: int = 0
    duplicate_operations: int = 0
    malformed_histories: int = 0
    problems: list[str] = field(default_factory=list)


def check_entity_history(iid: str, events: list[dict[str, Any]]) -> list[str]:
    """Every call's EventSent (the request without ``signal``) has exactly one answer, and no answer
    arrives for a request never sent."""
    calls: set[str] = set()
    answers: dict[str, int] = {}
    for e in events:
        if e["EventType"] == EventType.EventSent:
            request = json.loads(e["Input"])
            if not request.get("signal"):
                calls.add(request["id"])
        elif e["EventType"] == EventType.EventRaised:
            answers[e["Name"]] = answers.get(e["Name"], 0) + 1
    problems = [f"call {c} unanswered" for c in sorted(calls - answers.keys())]
    problems += [f"answer {a} to no call" for a in sorted(answers.keys() - calls)]
    problems += [f"call {a} answered {n} times" for a, n in sorted(answers.items()) if n > 1]
    return [f"{iid}: history: {p}" for p in problems]


def audit_entity_store(runs: list[EntityRun], state: Path, audit: EntityAudit, history_check: Any) -> None:
    """With the host stopped: each run's raw history (the campaign's own check and the entity check)."""
    store = SqliteStore(state)
    try:
        for run in runs:
            events = store.load_history(run.instance_id)
            found = history_check(run.instance_id, events) + check_entity_history(run.instance_id, events)
            audit.problems += found
            audit.malformed_histories += bool(found)
    finally:
        store.close()
