"""durabletask-python's ``TaskHubGrpcClient`` as a ``DurableClient`` (``engine.durable.client``).

The gRPC client is synchronous: each call runs in a thread, so a handler's event loop never blocks on the
backend. Statuses and histories come back in our own types; a backend that refuses a command (an event for
a finished instance, a rewind it cannot do) raises ``RefusedByBackend`` with its reason.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import grpc
from durabletask import client as dt

from engine.durable.client import InstanceHistory, InstancePage, InstanceStatus, RefusedByBackend
from engine.durable_task.context import aware
from engine.durable_task.history import converted

_NAMES = {
    dt.OrchestrationStatus.RUNNING: "Running",
    dt.OrchestrationStatus.COMPLETED: "Completed",
    dt.OrchestrationStatus.FAILED: "Failed",
    dt.OrchestrationStatus.TERMINATED: "Terminated",
    dt.OrchestrationStatus.CONTINUED_AS_NEW: "ContinuedAsNew",
    dt.OrchestrationStatus.PENDING: "Pending",
    dt.OrchestrationStatus.SUSPENDED: "Suspended",
}
_STATUSES = {name: status for status, name in _NAMES.items()}


def _json(text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def instance_status(state: dt.OrchestrationState) -> InstanceStatus:
    """durabletask's state as ours; a failed instance's output is its failure's message."""
    failure = state.failure_details
    return InstanceStatus(
        instance_id=state.instance_id,
        name=state.name,
        runtime=_NAMES.get(state.runtime_status, "Running"),
        created=aware(state.created_at) if state.created_at else None,
        updated=aware(state.last_updated_at) if state.last_updated_at else None,
        input=_json(state.serialized_input),
        output=failure.message if failure is not None else _json(state.serialized_output),
        custom_status=_json(state.serialized_custom_status),
    )


class DurableTaskClient:
    """``DurableClient`` over durabletask's gRPC client (a sidecar, Durable Task Scheduler, or the
    in-memory backend)."""

    def __init__(self, sdk: dt.TaskHubGrpcClient) -> None:
        self._sdk = sdk

    async def start(self, name: str, instance_id: str | None, input_: Any) -> str:
        """Schedule orchestration ``name``; its instance id (the backend's choice when None)."""
        return str(
            await asyncio.to_thread(
                self._sdk.schedule_new_orchestration, name, input=input_, instance_id=instance_id
            )
        )

    async def status(self, instance_id: str, *, with_input: bool = False) -> InstanceStatus | None:
        """The instance's state, payloads included; None when there is no such instance."""
        state = await asyncio.to_thread(self._sdk.get_orchestration_state, instance_id, fetch_payloads=True)
        return instance_status(state) if state is not None else None

    async def history(self, instance_id: str) -> InstanceHistory | None:
        """The instance's status and history; None when it is gone (purged even between the two reads)."""
        state = await asyncio.to_thread(self._sdk.get_orchestration_state, instance_id, fetch_payloads=True)
        if state is None:
            return None
        try:
            events = await asyncio.to_thread(self._sdk.get_orchestration_history, instance_id)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:  # purged between the two calls
                return None
            raise
        return InstanceHistory(instance_status(state), converted(list(events)))

    async def raise_event(self, instance_id: str, name: str, data: Any) -> None:
        """Raise event ``name`` to the instance; ``RefusedByBackend`` when the backend refuses it."""
        await self._refusable(self._sdk.raise_orchestration_event, instance_id, name, data=data)

    async def terminate(self, instance_id: str, reason: str) -> None:
        """Terminate the instance alone (not its children), with ``reason`` as its output."""
        # Not recursive: the workflow API terminates a run's children itself, naming its own reason.
        await self._refusable(self._sdk.terminate_orchestration, instance_id, output=reason, recursive=False)

    async def rewind(self, instance_id: str, reason: str) -> None:
        """Rewind a failed instance; ``RefusedByBackend`` when the backend cannot."""
        await self._refusable(self._sdk.rewind_orchestration, instance_id, reason=reason)

    async def purge(self, instance_id: str) -> None:
        """Delete the instance and its history (not its children's)."""
        await self._refusable(self._sdk.purge_orchestration, instance_id, recursive=False)

    async def list_page(
        self,
        statuses: Sequence[str] = (),
        *,
        continuation: str | None = None,
        with_input: bool = False,
        prefix: str | None = None,
    ) -> InstancePage:
        """Every instance with one of ``statuses`` (every instance when none) and an id starting with
        ``prefix`` (when given), in a single page."""
        # The SDK follows the backend's continuation tokens itself: one page holds every instance.
        query = dt.OrchestrationQuery(
            runtime_status=[_STATUSES[s] for s in statuses if s in _STATUSES] or None,
            fetch_inputs_and_outputs=True,
            instance_id_prefix=prefix or None,
        )
        states = await asyncio.to_thread(self._sdk.get_all_orchestration_states, query)
        return InstancePage([instance_status(s) for s in states])

    def management_links(self, instance_id: str) -> dict[str, str]:
        """Only the instance id: durabletask backends have no HTTP management API to link to."""
        return {"id": instance_id}  # durabletask backends have no HTTP management API of their own

    async def _refusable(self, call: Any, *args: Any, **kwargs: Any) -> None:
        try:
            await asyncio.to_thread(call, *args, **kwargs)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                raise RefusedByBackend(exc.details() or str(exc.code())) from exc
            raise


__all__ = ["DurableTaskClient", "instance_status"]
