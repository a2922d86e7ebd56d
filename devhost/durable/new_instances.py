"""New orchestration instances, started by a client or as a sub-orchestration, and the final statuses."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devhost.durable.history import EventType, event, fmt_time
from devhost.durable.task_hub_store import Batch, InstanceRecord, WorkItem

TERMINAL = {"Completed", "Failed", "Terminated"}
NOT_AN_ORCHESTRATOR = "The function '{}' doesn't exist, is disabled, or is not an orchestrator function."


def create_instance(
    batch: Batch,
    alloc_work_id: Callable[[], int],
    name: str,
    instance_id: str,
    input_text: str | None,
    now: datetime,
    *,
    parent: dict[str, Any] | None = None,
    version: str | None = None,
) -> InstanceRecord:
    """Stage a Pending instance with an empty history and its ExecutionStarted message in ``batch``.

    ``input_text`` is the input's JSON text; ``parent`` ({instance_id, execution_id, task_id}) makes it a
    sub-orchestration that reports its end to that task; ``version`` is its orchestration version (the
    ExecutionStarted event's Version, ``context.version``). An earlier instance with the id is replaced.
    """
    rec = InstanceRecord(
        instance_id=instance_id,
        name=name,
        execution_id=uuid.uuid4().hex,
        status="Pending",
        input=input_text,
        created=fmt_time(now),
        updated=fmt_time(now),
        parent=parent,
        version=version,
    )
    batch.instances[instance_id] = rec
    batch.append_history(instance_id, [], reset=True)
    from_parent = {"ParentInstance": {"InstanceId": parent["instance_id"]}} if parent else {}
    started = event(
        EventType.ExecutionStarted, now, Name=name, Input=input_text, Version=version, **from_parent
    )
    batch.add_work.append(
        WorkItem(alloc_work_id(), instance_id, "msg", {"event": started, "execution_id": rec.execution_id})
    )
    return rec
