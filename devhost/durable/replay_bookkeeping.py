"""The book: per-execution replay bookkeeping, persisted with the instance record (its `book`), and the
state of each call under a retry policy that it keeps (`RetryState`; call_retries acts on it)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RetryState:
    """One call under a retry policy, kept in the book under its current attempt's or backoff timer's id.

    Stored as the JSON object the book always held: {kind, name, input, instanceId, options, attempt,
    max, first, phase} and ``timed_out`` once set.
    """

    kind: str  # "activity" or "sub"
    name: str
    input: Any  # the action's input, as the SDK gave it
    instance_id: str | None  # a sub-orchestration's instance id, when the orchestrator chose one
    options: dict[str, Any]  # the SDK's retryOptions
    attempt: int  # 1 for the first attempt
    max_attempts: int
    first_attempt: str  # when the first attempt was scheduled (history time text)
    phase: str  # "running" (an attempt is out) or "waiting" (for its backoff timer)
    timed_out: bool = False  # retryTimeout passed: the next attempt fails at once
    version: str | None = None  # the version a sub-orchestration call asked for (None: defaultVersion)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RetryState:
        """A retry state back from the book's JSON."""
        return cls(
            kind=data["kind"],
            name=data["name"],
            input=data.get("input"),
            instance_id=data.get("instanceId"),
            options=dict(data.get("options") or {}),
            attempt=data["attempt"],
            max_attempts=data["max"],
            first_attempt=data["first"],
            phase=data["phase"],
            timed_out=bool(data.get("timed_out", False)),
            version=data.get("version"),
        )

    def to_json(self) -> dict[str, Any]:
        """The retry state as the book keeps it."""
        data: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "input": self.input,
            "instanceId": self.instance_id,
            "options": dict(self.options),
            "attempt": self.attempt,
            "max": self.max_attempts,
            "first": self.first_attempt,
            "phase": self.phase,
        }
        if self.timed_out:
            data["timed_out"] = True
        if self.version is not None:
            data["version"] = self.version
        return data


@dataclass
class Book:
    """What an execution's replays need beyond the history: the next task id, the actions scheduled, calls
    under retry, events raised before they were awaited, pending timers and entity calls."""

    seq: int = 0  # next task id
    actions: list[list[Any]] = field(default_factory=list)  # known leaf actions: [type, name, id]
    retries: dict[str, RetryState] = field(default_factory=dict)  # by current attempt / timer id
    waits: dict[str, int] = field(default_factory=dict)  # WaitForExternalEvent actions per name
    delivered: dict[str, int] = field(default_factory=dict)  # EventRaised delivered per name
    held: list[dict[str, Any]] = field(default_factory=list)  # raised, not yet awaited (FIFO)
    timers: dict[str, int] = field(default_factory=dict)  # pending timer task id -> work id
    calls: dict[str, int] = field(default_factory=dict)  # entity calls unanswered: request id -> task id
    rewound: list[int] = field(default_factory=list)  # activities a rewind cleared: schedule them again

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Book:
        """A book back from the record's JSON (an empty one for a new execution)."""
        if not data:
            return cls()
        retries = {key: RetryState.from_json(state) for key, state in (data.get("retries") or {}).items()}
        return cls(**{**data, "retries": retries})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object the record keeps (a copy: the book changes on, the record is committed later)."""
        out: dict[str, Any] = {
            "seq": self.seq,
            "actions": [list(a) for a in self.actions],
            "retries": {key: state.to_json() for key, state in self.retries.items()},
            "waits": dict(self.waits),
            "delivered": dict(self.delivered),
            "held": copy.deepcopy(self.held) if self.held else [],
            "timers": dict(self.timers),
            # Only when there are some: a book without entity calls keeps the JSON shape it always had.
            **({"calls": dict(self.calls)} if self.calls else {}),
        }
        if self.rewound:  # only while a rewind is being taken in: books keep the shape they always had
            out["rewound"] = list(self.rewound)
        return out

    def deliverable(self) -> bool:
        """Whether a held event is awaited by now (it can be delivered without a new message)."""
        return any(self.waits.get(e["Name"], 0) > self.delivered.get(e["Name"], 0) for e in self.held)
