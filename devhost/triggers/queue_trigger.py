"""The queue trigger as the Storage Queues extension runs it (QueueListener, QueueProcessor in
azure-sdk-for-net's Microsoft.Azure.WebJobs.Extensions.Storage.Queues):

- it gets up to batchSize messages at a time, each hidden for 10 minutes while it runs, and gets the next
  batch once fewer than newBatchThreshold of them are still running;
- an empty queue is polled again after a back-off that doubles from 100 ms up to maxPollingInterval; a
  message found resets it;
- a message that succeeds is deleted; one that fails is made visible again after visibilityTimeout, unless
  it has been dequeued maxDequeueCount times: then it is copied to ``<queue>-poison`` and deleted (one
  dequeued more often than that, by another reader, goes there before running).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.functions import meta

from devhost.config.queue_settings import QueueSettings
from devhost.console import host_logs
from devhost.functions.listener_targets import ListenedFunction, invoke
from devhost.storage import storage_account
from devhost.storage.binding_expressions import json_properties, resolve_settings
from devhost.storage.storage_io import decode_message, encode_message
from devhost.worker.invocation import Invoker

MIN_POLL = 0.1
HIDDEN_WHILE_RUNNING = 600  # seconds; the extension's visibility timeout for a message being processed
POISON_SUFFIX = "-poison"
DRAIN_SECONDS = 20.0  # how long a stopping host waits for the messages it is running


def _time(value: datetime | None) -> meta.Datum:
    return meta.Datum(
        value.strftime("%Y-%m-%dT%H:%M:%S+00:00") if value else None, "string" if value else None
    )


def message_datum(body: bytes) -> meta.Datum:
    """The host hands a text message to the worker as a string, anything else as bytes."""
    try:
        return meta.Datum(body.decode("utf-8"), "string")
    except UnicodeDecodeError:
        return meta.Datum(body, "bytes")


def trigger_metadata(message: Any, body: bytes) -> tuple[dict[str, meta.Datum], dict[str, Any]]:
    """The trigger metadata the worker's QueueMessage is built from, and the binding data ({queueTrigger},
    {id}, {dequeueCount}, a JSON message's properties)."""
    text = body.decode("utf-8", errors="replace")
    metadata = {
        "Id": meta.Datum(message.id, "string"),
        "DequeueCount": meta.Datum(int(message.dequeue_count or 0), "int"),
        "ExpirationTime": _time(message.expires_on),
        "InsertionTime": _time(message.inserted_on),
        "NextVisibleTime": _time(message.next_visible_on),
        "PopReceipt": meta.Datum(message.pop_receipt, "string"),
        "QueueTrigger": meta.Datum(text, "string"),
    }
    named = {
        **json_properties(body),
        "QueueTrigger": text,
        "Id": message.id,
        "DequeueCount": int(message.dequeue_count or 0),
        "PopReceipt": message.pop_receipt,
    }
    return metadata, named


class QueueListener:
    """Polls one queue and runs the function on each message, as the Storage Queues extension does."""

    def __init__(
        self,
        target: ListenedFunction,
        settings: QueueSettings,
        invoker: Invoker,
        client_binding: Callable[[], str],
    ) -> None:
        self.target = target
        self.settings = settings
        self.invoker = invoker
        self.client_binding = client_binding
        self.queue_name = resolve_settings(str(target.trigger["queueName"])).lower()
        service = storage_account.queue_service(target.trigger.get("connection"))
        self.queue = service.get_queue_client(self.queue_name)
        self.poison = service.get_queue_client(self.queue_name + POISON_SUFFIX)
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._room = asyncio.Condition()

    async def start(self) -> None:
        """Create the queue if needed, then poll it."""
        # The listener creates its queue before the host reports it started, as the extension's does.
        with contextlib.suppress(ResourceExistsError):
            await asyncio.to_thread(self.queue.create_queue)
        self._task = asyncio.create_task(self._run(), name=f"devhost-queue-{self.target.name}")

    async def stop(self) -> None:
        """Stop polling and let the running messages finish (up to the drain time)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # Like the host's drain on shutdown: no new messages, the running ones finish (then are deleted
        # or released) unless they outlast the drain, when they are left hidden and come back later.
        running = list(self._running)
        if running:
            _, late = await asyncio.wait(running, timeout=DRAIN_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _run(self) -> None:
        delay = MIN_POLL
        while True:
            try:
                messages = await asyncio.to_thread(self._receive)
            except Exception as exc:  # Azurite restarting, a network hiccup: the host logs and polls again
                host_logs.logger.warning("Queue '%s': cannot get messages: %s", self.queue_name, exc)
                messages = []
            if not messages:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.max_polling_interval)
                continue
            delay = MIN_POLL
            for message in messages:
                task = asyncio.create_task(self._process(message))
                self._running.add(task)
                task.add_done_callback(self._finished)
            async with self._room:
                await self._room.wait_for(lambda: len(self._running) <= self.settings.new_batch_threshold)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Deleting or releasing the message failed (Azurite gone, the message taken by another
            # reader): it becomes visible again when its hidden time ends, as in the extension.
            host_logs.logger.warning("Queue '%s': %s", self.queue_name, task.exception())

        async def notify() -> None:
            async with self._room:
                self._room.notify_all()

        if not task.cancelled():
            asyncio.get_running_loop().create_task(notify())

    def _receive(self) -> list[Any]:
        pages = self.queue.receive_messages(
            messages_per_page=self.settings.batch_size, visibility_timeout=HIDDEN_WHILE_RUNNING
        )
        return list(next(pages.by_page(), []))

    async def _process(self, message: Any) -> None:
        dequeued = int(message.dequeue_count or 0)
        try:
            body = decode_message(message.content or "", self.settings.message_encoding)
        except ValueError as exc:
            host_logs.logger.error("Queue '%s': message %s: %s", self.queue_name, message.id, exc)
            await self._fail(message, dequeued, b"")
            return
        if dequeued > self.settings.max_dequeue_count:
            await asyncio.to_thread(self._to_poison, message, body)
            return
        metadata, named = trigger_metadata(message, body)
        done = asyncio.Event()
        keeper = asyncio.create_task(self._keep_hidden(message, done))
        try:
            await invoke(
                self.invoker,
                self.target,
                self.client_binding,
                message_datum(body),
                metadata,
                named,
                f"New queue message detected on '{self.queue_name}'.",
            )
            ok = True
        except asyncio.CancelledError:
            keeper.cancel()
            raise
        except Exception:
            ok = False
        done.set()
        await keeper  # a renewal under way finishes first: its pop receipt is the one that counts
        if ok:
            await asyncio.to_thread(self.queue.delete_message, message.id, message.pop_receipt)
        else:
            await self._fail(message, dequeued, body)

    async def _keep_hidden(self, message: Any, done: asyncio.Event) -> None:
        """Keep a message that runs long hidden: every half of the 10 minutes, hide it for 10 more, as the
        extension's UpdateQueueMessageVisibilityTimer does; each renewal gives a new pop receipt."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), HIDDEN_WHILE_RUNNING / 2)
                return
            try:
                updated = await asyncio.to_thread(
                    self.queue.update_message,
                    message.id,
                    message.pop_receipt,
                    visibility_timeout=HIDDEN_WHILE_RUNNING,
                )
            except Exception as exc:  # the message was taken meanwhile: the run goes on, its delete will fail
                host_logs.logger.warning(
                    "Queue '%s': cannot keep message %s hidden: %s", self.queue_name, message.id, exc
                )
                return
            message.pop_receipt = updated.pop_receipt

    async def _fail(self, message: Any, dequeued: int, body: bytes) -> None:
        if dequeued >= self.settings.max_dequeue_count:
            await asyncio.to_thread(self._to_poison, message, body)
        else:
            await asyncio.to_thread(
                self.queue.update_message,
                message.id,
                message.pop_receipt,
                visibility_timeout=int(self.settings.visibility_timeout),
            )

    def _to_poison(self, message: Any, body: bytes) -> None:
        host_logs.logger.warning(
            "Message %s has reached MaxDequeueCount of %d. Moving message to queue '%s'.",
            message.id,
            self.settings.max_dequeue_count,
            self.queue_name + POISON_SUFFIX,
        )
        with contextlib.suppress(ResourceExistsError):
            self.poison.create_queue()
        content = encode_message(body, self.settings.message_encoding) if body else (message.content or "")
        self.poison.send_message(content)
        self.queue.delete_message(message.id, message.pop_receipt)
