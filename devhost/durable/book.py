"""The book: per-execution replay bookkeeping, persisted with the instance record (its `book`)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from devhost.durable.retries import RetryState


@dataclass
class Book:
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
