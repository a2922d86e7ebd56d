"""The queue trigger on the real devhost against Azurite, as the Storage Queues extension runs it
(azure-sdk-for-net, sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues: QueueListener,
QueueProcessor; host.json reference "extensions.queues")."""

from __future__ import annotations

import base64
import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from devhost.storage.storage_account import DEFAULT_CONNECTION
from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.azurite_support import need_azurite, storage_clients
from tests.devhost.helpers import APPS, call, status

APP = APPS / "storage"


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    need_azurite(APP)
    with run_devhost(APP) as handle:
        yield handle


@pytest.fixture(scope="module")
def queues(host: DevHostHandle) -> Any:
    return storage_clients(os.environ[DEFAULT_CONNECTION])[1]


@pytest.fixture(scope="module")
def blobs(host: DevHostHandle) -> Any:
    return storage_clients(os.environ[DEFAULT_CONNECTION])[0]


def send(queues: Any, name: str, text: str) -> Any:
    """A message as an app or the portal writes it for the extension: base64 (messageEncoding default)."""
    queue = queues.get_queue_client(name)
    return queue.send_message(base64.b64encode(text.encode()).decode())


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def _peek(queue: Any) -> list[Any]:
    try:
        return list(queue.peek_messages())
    except ResourceNotFoundError:  # not created yet
        return []


def test_message_runs_the_function_with_a_queue_message_and_is_deleted(host, queues, blobs):
    # The worker builds func.QueueMessage from the trigger metadata (azure.functions queue.py); binding
    # data includes a JSON message's properties, so the blob output path {orderId} resolves from it. A
    # message whose function succeeds is deleted (QueueProcessor.CompleteProcessingMessageAsync).
    sent = send(queues, "orders", json.dumps({"orderId": "o-17", "total": 5}))
    receipt = blobs.get_blob_client("receipts", "o-17.json")
    eventually(receipt.exists)
    written = json.loads(receipt.download_blob().readall())
    assert written == {"order": {"orderId": "o-17", "total": 5}, "id": sent.id, "dequeue_count": 1}
    assert eventually(lambda: not list(queues.get_queue_client("orders").peek_messages()))


def test_failing_message_is_retried_after_visibility_timeout_then_poisoned(host, queues):
    # host.json here: maxDequeueCount 3, visibilityTimeout 2 s. A failed message becomes visible again
    # after visibilityTimeout (QueueProcessor.ReleaseMessageAsync); on its maxDequeueCount-th failure it is
    # copied to "<queue>-poison" and deleted (CopyMessageToPoisonQueueAsync).
    send(queues, "flaky", "bad input")
    poison = queues.get_queue_client("flaky-poison")
    poisoned = eventually(lambda: _peek(poison), timeout=40)
    assert base64.b64decode(poisoned[0].content).decode() == "bad input"
    attempts = call("GET", f"{host.api_url}/seen/flaky").json
    assert [a["dequeue_count"] for a in attempts] == [1, 2, 3]
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(attempts)]
    assert all(gap >= 1.9 for gap in gaps), gaps
    assert not list(queues.get_queue_client("flaky").peek_messages())


def test_each_message_starts_an_orchestration_through_the_durable_client(host, queues):
    # A queue-triggered function with the durable client binding starts orchestrations as in any app.
    ids = [send(queues, "runs", json.dumps({"name": n})).id for n in ("Ada", "Grace")]
    for message_id, name in zip(ids, ("Ada", "Grace"), strict=True):

        def completed(iid: str = f"run-{message_id}") -> Any:
            reply = status(host, iid)
            return reply.status == 200 and reply.json["runtimeStatus"] == "Completed" and reply.json

        assert eventually(completed)["output"] == f"Hello {name}"


def test_a_batch_of_messages_is_processed(host, queues, blobs):
    # batchSize 4 / newBatchThreshold 2 (QueueListener gets a new batch once fewer than newBatchThreshold
    # messages are running): more messages than a batch are all processed.
    for i in range(9):
        send(queues, "orders", json.dumps({"orderId": f"batch-{i}"}))
    for i in range(9):
        eventually(blobs.get_blob_client("receipts", f"batch-{i}.json").exists)


def test_async_function_return_value_goes_to_its_return_binding(host, queues, blobs):
    # A `$return` output binding takes the function's return value (the worker's has_return path);
    # {id} is the message id from the queue trigger's binding data.
    sent = send(queues, "echo", "echo me")
    blob = blobs.get_blob_client("echoes", f"{sent.id}.txt")
    eventually(blob.exists)
    assert blob.download_blob().readall() == b"echo me"
