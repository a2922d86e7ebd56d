"""durabletask's in-memory backend, with what a real backend does when a worker dies: the work it held is
handed out again.

``durabletask.testing``'s backend dispatches a work item over a worker's stream and forgets it: an
activity a killed worker was running is never run, and an orchestration it was replaying stays marked
in flight, so its run hangs. The Durable Task Scheduler and Dapr hold a work item under a lock a dead
worker loses. Here, when a worker's stream ends (``add_callback``: the RPC is over, the worker gone),
every work item it was handed and never completed goes back to the queue: an activity runs again (as any
activity may: at least once; steps de-duplicate side effects by their idempotency key), an orchestration
is dispatched again with the events it had not taken in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.testing.in_memory_backend import ActivityWorkItem, InMemoryOrchestrationBackend

Key = tuple[str, str, int]  # ("activity", instance id, task id) or ("orchestration", instance id, token)


class RedeliveringBackend(InMemoryOrchestrationBackend):
    """The in-memory backend, giving back a dead worker's work items."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: dict[Key, pb.WorkItem] = {}  # handed out, not completed yet

    def GetWorkItems(
        self, request: pb.GetWorkItemsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.WorkItem]:
        """The base backend's work item stream, each item held for this worker until it is completed."""
        mine: set[Key] = set()
        context.add_callback(lambda: self._give_back(mine))
        for item in super().GetWorkItems(request, context):
            key = _key(item)
            if key is not None:
                with self._lock:
                    self._held[key] = item
                    mine.add(key)
            yield item

    def CompleteActivityTask(
        self, request: pb.ActivityResponse, context: grpc.ServicerContext
    ) -> pb.CompleteTaskResponse:
        """An activity's first result: a copy given back (not yet run) is dropped, a later result ignored."""
        key: Key = ("activity", request.instanceId, request.taskId)
        with self._lock:
            if self._held.pop(key, None) is None:
                queued = [a for a in self._activity_queue if (a.instance_id, a.task_id) == key[1:]]
                if not queued:
                    # Handed out again and completed there already: one result per activity.
                    return pb.CompleteTaskResponse()
                for item in queued:  # given back, not run again yet: this result will do
                    self._activity_queue.remove(item)
        return super().CompleteActivityTask(request, context)

    def CompleteOrchestratorTask(
        self, request: pb.OrchestratorResponse, context: grpc.ServicerContext
    ) -> pb.CompleteTaskResponse:
        """An orchestration episode's result; the work item is no longer held."""
        with self._lock:
            token = int(request.completionToken) if request.completionToken.isdigit() else -1
            self._held.pop(("orchestration", request.instanceId, token), None)
        return super().CompleteOrchestratorTask(request, context)

    def _give_back(self, keys: set[Key]) -> None:
        """A worker's stream ended: what it held and never completed is handed out again."""
        with self._lock:
            for key in sorted(keys):
                item = self._held.pop(key, None)
                if item is None:
                    continue  # completed
                if key[0] == "activity":
                    request = item.activityRequest
                    self._activity_queue.append(
                        ActivityWorkItem(
                            instance_id=request.orchestrationInstance.instanceId,
                            name=request.name,
                            task_id=request.taskId,
                            input=request.input.value if request.HasField("input") else None,
                            completion_token=int(item.completionToken),
                        )
                    )
                    self._work_available.set()
                else:
                    self._redo_orchestration(key[1])

    def _redo_orchestration(self, instance_id: str) -> None:
        instance = self._instances.get(instance_id)
        self._orchestration_in_flight.discard(instance_id)
        if instance is None:
            return
        # The events it was given and never took in come first, then any that arrived since.
        instance.pending_events[:0] = list(instance.dispatched_events)
        instance.dispatched_events = []
        self._enqueue_orchestration(instance_id)


def _key(item: pb.WorkItem) -> Key | None:
    if item.HasField("activityRequest"):
        request = item.activityRequest
        return ("activity", request.orchestrationInstance.instanceId, request.taskId)
    if item.HasField("orchestratorRequest"):
        token = int(item.completionToken) if item.completionToken.isdigit() else -1
        return ("orchestration", item.orchestratorRequest.instanceId, token)
    return None


def start_backend(port: int) -> RedeliveringBackend:
    """The backend, serving on ``port``."""
    backend = RedeliveringBackend(port=port)
    backend.start()
    return backend


__all__ = ["RedeliveringBackend", "start_backend"]
