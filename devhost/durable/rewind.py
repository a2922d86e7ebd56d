"""Rewind of a failed instance, as the Durable extension's Azure Storage backend performs it.

The failure events of the instance's current execution become ``GenericEvent``s (the SDK skips them on
replay): each ``TaskFailed`` with the ``TaskScheduled`` it answers, each ``SubOrchestrationInstanceFailed``
(its ``SubOrchestrationInstanceCreated`` stays, and the child is rewound in turn), and the failed
``ExecutionCompleted``. The instance runs again on a generic message to the deepest failed instances.
Its orchestrator then schedules the rewound activities once more, under their old task ids, and waits
again for the rewound children (DurableTask.AzureStorage ``AzureTableTrackingStore.RewindHistoryAsync``
and ``AzureStorageOrchestrationService.RewindTaskOrchestrationAsync``).

devhost also re-arms the durable timers still pending when the instance failed: on Azure their messages
stay queued and arrive after the rewind, whereas devhost cancels them when an instance ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devhost.durable.history import EventType, event, parse_time


@dataclass
class RewoundHistory:
    """The history with its failures cleared, and what the task hub must do after it."""

    events: list[dict[str, Any]]
    tasks: list[int] = field(default_factory=list)  # activities to schedule again, by task id
    children: list[str] = field(default_factory=list)  # failed sub-orchestrations to rewind in turn
    timers: list[tuple[int, str]] = field(default_factory=list)  # (task id, FireAt) still pending


def _rewound(original: dict[str, Any]) -> dict[str, Any]:
    kind = EventType(original["EventType"]).name
    cleared = event(EventType.GenericEvent, parse_time(original["Timestamp"]), original.get("EventId", -1))
    return {**cleared, "IsPlayed": original.get("IsPlayed", True), "Data": f"Rewound: {kind}"}


def rewind_history(events: list[dict[str, Any]]) -> RewoundHistory:
    """``events`` (the instance's current execution) with its failures rewound."""
    out = list(events)
    scheduled: dict[int, int] = {}  # task id -> index of its TaskScheduled
    created: dict[int, int] = {}  # task id -> index of its SubOrchestrationInstanceCreated
    timers: dict[int, str] = {}  # task id -> FireAt of timers not fired yet
    result = RewoundHistory(out)
    for index, e in enumerate(events):
        kind = e["EventType"]
        if kind == EventType.TaskScheduled:
            scheduled[e["EventId"]] = index
        elif kind == EventType.SubOrchestrationInstanceCreated:
            created[e["EventId"]] = index
        elif kind == EventType.TimerCreated:
            timers[e["EventId"]] = e["FireAt"]
        elif kind == EventType.TimerFired:
            timers.pop(e.get("TimerId", -1), None)
        elif kind == EventType.TaskFailed:
            task_id = e["TaskScheduledId"]
            out[index] = _rewound(e)
            if task_id in scheduled:
                out[scheduled[task_id]] = _rewound(events[scheduled[task_id]])
                result.tasks.append(task_id)
        elif kind == EventType.SubOrchestrationInstanceFailed:
            out[index] = _rewound(e)
            source = created.get(e["TaskScheduledId"])
            if source is not None and events[source].get("InstanceId"):
                result.children.append(events[source]["InstanceId"])
        elif kind == EventType.ExecutionCompleted and e.get("OrchestrationStatus") == "Failed":
            out[index] = _rewound(e)
    result.timers = sorted(timers.items())
    return result
