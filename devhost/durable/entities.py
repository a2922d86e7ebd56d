"""Durable entities: each entity applies its queued operations one batch at a time, in the order they were
queued, and every batch is one commit.

An operation is a queued work item (kind "entity") for the entity's instance id ``@name@key``. A batch
takes the entity's queued operations, hands them to the entity function in one invocation (as the
extension does for out-of-process entities), and stages in a single Batch: the new state, the removal of
the operations it applied, and the answers to callers (and any signals the entity sent). Until that
commit nothing of the batch is durable, so after a crash the operations are still queued and run again
on the state from before them: each operation changes the committed state exactly once.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import EnitityTriggerConverter

from devhost.console import host_logs
from devhost.durable.entity_messages import (
    OPERATION_ERROR_TYPE,
    BatchResult,
    OperationResult,
    RequestMessage,
    ResponseMessage,
    batch_context,
    parse_batch_result,
    scheduler_id,
    split_scheduler_id,
)
from devhost.durable.history import EventType, event, fmt_time
from devhost.durable.task_hub_store import Batch, EntityRecord, WorkItem
from devhost.functions.indexing import FunctionIndex, TriggeredFunction
from devhost.worker.invocation import Invoker

# The extension's maxEntityOperationBatchSize outside the Consumption plan: the most operations one
# invocation of an entity function applies.
MAX_BATCH = 5000
NOT_AN_ENTITY = "The function '{}' doesn't exist, is disabled, or is not an entity function."


def find_entity(index: FunctionIndex, name: str) -> TriggeredFunction | None:
    """The entity function for a name, in any case (function_names): entity ids keep names lower-cased."""
    return index.entities.get(name)


def request_item(
    work_id: int, name: str, key: str, op: str, input_text: str | None, now: datetime, **caller: Any
) -> tuple[WorkItem, RequestMessage]:
    """A queued operation for ``@name@key``; ``caller``: signal, parent, parent_execution."""
    request = RequestMessage(op=op, id=str(uuid.uuid4()), input=input_text, timestamp=fmt_time(now), **caller)
    item = WorkItem(work_id, scheduler_id(name, key), "entity", {"request": request.wire()})
    return item, request


class Entities:
    """The entities of a task hub: their records (a cache of the store) and their queued operations."""

    def __init__(
        self,
        index: FunctionIndex,
        invoker: Invoker,
        limit: int,
        now: Callable[[], datetime],
        alloc_work_id: Callable[[], int],
        defer: Callable[[Batch], None],
        is_live: Callable[[str], bool],
        hub: str,
        trace_payloads: bool = False,
    ) -> None:
        self.index = index
        self.invoker = invoker
        self.sem = asyncio.Semaphore(limit)
        self.now = now
        self.alloc_work_id = alloc_work_id
        self.defer = defer  # stages a batch for the task hub's next group commit
        self.is_live = is_live  # whether an orchestration instance exists (answers go only to those)
        self.hub = hub  # named in the log line of a failed operation
        self.trace_payloads = trace_payloads  # that line shows inputs and errors (traceInputsAndOutputs)
        self.records: dict[str, EntityRecord] = {}
        self.queued: dict[str, list[WorkItem]] = {}
        self.running: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def load(self, records: dict[str, EntityRecord]) -> None:
        """Take the entity records the store loaded."""
        self.records = dict(records)

    def busy(self) -> bool:
        """Whether an entity has a batch running or operations queued."""
        return bool(self.running or self.queued)

    async def stop(self) -> None:
        """Cancel the running batches."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def submit(self, item: WorkItem) -> None:
        """Queue an operation (committed already) behind the entity's earlier ones."""
        self.queued.setdefault(item.instance_id, []).append(item)
        if item.instance_id not in self.running:
            self.running.add(item.instance_id)
            task = asyncio.create_task(self._drive(item.instance_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drive(self, eid: str) -> None:
        try:
            while self.queued.get(eid):
                items = self.queued.pop(eid)
                if len(items) > MAX_BATCH:
                    self.queued[eid] = items[MAX_BATCH:] + self.queued.get(eid, [])
                    items = items[:MAX_BATCH]
                async with self.sem:
                    await self._run_batch(eid, items)
        except Exception:
            host_logs.logger.exception("devhost: internal error while running entity %s", eid)
        finally:
            self.running.discard(eid)
            # Only after an internal error are operations left here; they get a drive of their own (the
            # failed batch's operations stay in the store, for the next host run).
            for item in self.queued.pop(eid, []):
                self.submit(item)

    async def _run_batch(self, eid: str, items: list[WorkItem]) -> None:
        name, key = split_scheduler_id(eid)
        before = self.records.get(eid) or EntityRecord(eid, name, key)
        requests = [RequestMessage.model_validate(i.payload["request"]) for i in items]
        result = await self._invoke(before, requests)
        exists = result.entity_exists
        after = EntityRecord(
            eid, name, key, exists, result.entity_state if exists else None, fmt_time(self.now())
        )
        batch = Batch(del_work=[i.id for i in items])
        batch.entities[eid] = after
        for request, outcome in zip(requests, _padded(result.results, len(requests)), strict=True):
            if outcome.is_error:
                self._log_failure(eid, name, request, outcome)
            self._answer(batch, request, outcome)
        for signal in result.signals:
            item, _ = request_item(
                self.alloc_work_id(),
                signal.target.name,
                signal.target.key,
                signal.name,
                signal.input,
                self.now(),
                signal=True,
                parent=eid,
            )
            batch.add_work.append(item)
        self.records[eid] = after
        self.defer(batch)

    async def _invoke(self, before: EntityRecord, requests: list[RequestMessage]) -> BatchResult:
        """The entity function's answer; a function that is missing or fails as a whole fails every
        operation of the batch and leaves the state as it was (as the extension does when the function
        does not exist, and for a batch that timed out)."""
        target = find_entity(self.index, before.name)
        if target is None:
            return _all_failed(before, len(requests), NOT_AN_ENTITY.format(before.name))
        context_json = batch_context(before.name, before.key, before.exists, before.state, requests)

        def call() -> Any:
            # The worker's own conversion: the trigger value becomes func.EntityContext.
            ctx = EnitityTriggerConverter.decode(meta.Datum(context_json, "json"), trigger_metadata=None)
            return target.fn(**{target.trigger_param: ctx})

        try:
            answer = await self.invoker.call(target.name, call, {}, reason="(null)", wants_context=False)
            return parse_batch_result(answer)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = f"Entity function '{target.name}' failed: {type(exc).__name__}: {exc}"
            host_logs.logger.error("devhost: %s", message)
            return _all_failed(before, len(requests), message)

    def _log_failure(self, eid: str, name: str, request: RequestMessage, outcome: OperationResult) -> None:
        """As the extension, one Error line per failed operation: the caller gets the error, the log says
        it happened (a signal's failure is seen nowhere else)."""
        operation = host_logs.EntityOperation(eid, name, request.op, request.id, request.input)
        host_logs.entity_operation_failed(
            operation, outcome.result, outcome.duration, self.hub, raw=self.trace_payloads
        )

    def _answer(self, batch: Batch, request: RequestMessage, outcome: OperationResult) -> None:
        """A call's answer goes back to the calling orchestration, as an event named by the request id."""
        if request.signal or not request.parent or not self.is_live(request.parent):
            return
        response = ResponseMessage(
            result=outcome.result, exception_type=OPERATION_ERROR_TYPE if outcome.is_error else None
        )
        raised = event(EventType.EventRaised, self.now(), Name=request.id, Input=response.wire_text())
        payload = {"event": raised, "execution_id": request.parent_execution}
        batch.add_work.append(WorkItem(self.alloc_work_id(), request.parent, "msg", payload))


def _failure(message: str) -> OperationResult:
    return OperationResult(isError=True, result=json.dumps(message))


def _padded(results: list[OperationResult], count: int) -> list[OperationResult]:
    missing = _failure("The entity function returned no result for this operation.")
    return (results + [missing] * count)[:count]


def _all_failed(before: EntityRecord, count: int, message: str) -> BatchResult:
    return BatchResult(
        entityExists=before.exists, entityState=before.state, results=[_failure(message)] * count
    )
