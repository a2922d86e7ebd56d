"""Activity execution: up to maxConcurrentActivityFunctions at once, results as history events."""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.durable import durable_http
from devhost.durable.history import EventType, event
from devhost.durable.task_hub_store import WorkItem
from devhost.functions.indexing import FunctionIndex
from devhost.worker.invocation import Invoker

NOT_AN_ACTIVITY = "The function '{}' doesn't exist, is disabled, or is not an activity function."


class ActivityRunner:
    """Runs queued activities, at most ``limit`` at once, handing each result (an event) to ``done``."""

    def __init__(
        self,
        index: FunctionIndex,
        invoker: Invoker,
        limit: int,
        now: Callable[[], datetime],
        client_binding: Callable[[], str],
        done: Callable[[WorkItem, dict[str, Any]], None],
    ) -> None:
        self.index = index
        self.invoker = invoker
        self.sem = asyncio.Semaphore(limit)
        self.now = now
        self.client_binding = client_binding
        self.done = done
        self._inflight_for: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, item: WorkItem) -> None:
        """Run the activity as soon as a slot is free."""
        self._inflight_for[item.instance_id] = self.inflight_for(item.instance_id) + 1
        task = asyncio.create_task(self._run(item))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def inflight(self) -> int:
        """Activities submitted and not finished, of every instance."""
        return sum(self._inflight_for.values())

    def inflight_for(self, instance_id: str) -> int:
        """Activities of this instance submitted and not finished (waiting for a slot or running)."""
        return self._inflight_for.get(instance_id, 0)

    async def stop(self) -> None:
        """Cancel every activity still waiting or running."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, item: WorkItem) -> None:
        result: dict[str, Any] | None = None
        try:
            async with self.sem:
                result = await self._execute(item)
        finally:
            left = self._inflight_for.pop(item.instance_id) - 1
            if left:
                self._inflight_for[item.instance_id] = left
        if result is not None:
            self.done(item, result)

    async def _execute(self, item: WorkItem) -> dict[str, Any]:
        p = item.payload
        name, task_id = p["name"], p["task_id"]
        if name == durable_http.HTTP_ACTIVITY:
            return await self._call_http(task_id, p["input"])
        target = self.index.activities.get(name)
        if target is None:
            return self._failed(task_id, NOT_AN_ACTIVITY.format(name), None)
        try:
            # Exactly the worker's conversions: JSON text in, df_dumps text out.
            value = ActivityTriggerConverter.decode(meta.Datum(p["input"], "json"), trigger_metadata=None)
            kwargs: dict[str, Any] = {target.trigger_param: value}
            for client in target.client_params:
                kwargs[client] = self.client_binding()
            # Logged under the function's own name: the call may name it in another case.
            output = await self.invoker.call(
                target.name, target.fn, kwargs, reason="(null)", wants_context=target.wants_context
            )
            text = ActivityTriggerConverter.encode(output, expected_type=None).value
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            details = "".join(traceback.format_exception(exc))
            return self._failed(task_id, f"Activity function '{name}' failed: {exc}", details)
        return event(EventType.TaskCompleted, self.now(), TaskScheduledId=task_id, Result=text)

    async def _call_http(self, task_id: int, request_text: str) -> dict[str, Any]:
        """The built-in HTTP activity of call_http: the response JSON, or a failed task saying why."""
        try:
            response = await durable_http.call(json.loads(request_text or "{}"))
        except durable_http.DurableHttpError as exc:
            return self._failed(task_id, str(exc), None)
        return event(
            EventType.TaskCompleted, self.now(), TaskScheduledId=task_id, Result=json.dumps(response)
        )

    def _failed(self, task_id: int, reason: str, details: str | None) -> dict[str, Any]:
        now = self.now()
        return event(EventType.TaskFailed, now, TaskScheduledId=task_id, Reason=reason, Details=details)
