"""The blob trigger on the real devhost against Azurite: polling the container, with blob receipts so a
blob (at a given ETag) is processed once, as the Storage Blobs extension does (azure-sdk-for-net,
sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Blobs: ScanBlobScanLogHybridPollingStrategy,
BlobReceiptManager; "Blob receipts" in the blob trigger reference on Microsoft Learn)."""

from __future__ import annotations

import base64
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
from tests.devhost.helpers import APPS, call

APP = APPS / "storage"


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)
    return value


def uploads(host: DevHostHandle) -> list[dict[str, Any]]:
    return call("GET", f"{host.api_url}/seen/uploads").json


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    need_azurite(APP)
    with run_devhost(APP) as handle:
        yield handle


def test_new_blob_runs_the_function_once_with_an_inputstream(host):
    # The worker's InputStream for a blob trigger carries name (container/blob), length and uri from the
    # trigger metadata (azure.functions blob.py); {name} from the path pattern binds the output path.
    blobs = storage_clients(os.environ[DEFAULT_CONNECTION])[0]
    blobs.get_blob_client("uploads", "note.txt").upload_blob(b"shout", overwrite=True)
    copy = blobs.get_blob_client("copies", "note.txt")
    eventually(copy.exists)
    assert copy.download_blob().readall() == b"SHOUT"
    seen = [u for u in uploads(host) if u["name"] == "uploads/note.txt"]
    assert len(seen) == 1 and seen[0]["length"] == 5 and seen[0]["uri"].endswith("/uploads/note.txt")
    time.sleep(3)  # several scans later: the receipt keeps it from running again
    assert len([u for u in uploads(host) if u["name"] == "uploads/note.txt"]) == 1
    hosts = blobs.get_container_client("azure-webjobs-hosts")
    # BlobReceiptManager: blobreceipts/<hostId>/<function>/<etag>/<container>/<blob>
    prefix = "blobreceipts/storage/Host.Functions.on_upload/"
    receipts = [r.name for r in hosts.list_blobs(name_starts_with=prefix)]
    assert [r for r in receipts if r.endswith("/uploads/note.txt")], receipts


def test_overwritten_blob_runs_again(host):
    # Receipts are per ETag: a blob written again is a new blob to the trigger.
    blobs = storage_clients(os.environ[DEFAULT_CONNECTION])[0]
    blob = blobs.get_blob_client("uploads", "again.txt")
    blob.upload_blob(b"one", overwrite=True)
    eventually(lambda: [u for u in uploads(host) if u["name"] == "uploads/again.txt"])
    blob.upload_blob(b"two", overwrite=True)

    def texts() -> list[str]:
        return [u["text"] for u in uploads(host) if u["name"] == "uploads/again.txt"]

    eventually(lambda: len(texts()) == 2)
    assert texts() == ["one", "two"]


def test_a_blob_that_keeps_failing_goes_to_the_poison_queue_once(host):
    # The extension runs a blob trigger through its internal queue: a failing blob is tried
    # maxDequeueCount times (3 in this app's host.json), then described on "webjobs-blobtrigger-poison"
    # and its receipt written, so it is not tried again (BlobTriggerQueueProcessor, Microsoft Learn
    # "Poison blobs").
    blobs, queues, _ = storage_clients(os.environ[DEFAULT_CONNECTION])
    blobs.get_blob_client("bad-uploads", "broken.txt").upload_blob(b"?", overwrite=True)
    poison = queues.get_queue_client("webjobs-blobtrigger-poison")

    def poisoned() -> list[Any]:
        try:
            return list(poison.peek_messages())
        except ResourceNotFoundError:
            return []

    (message,) = eventually(poisoned)
    description = json.loads(base64.b64decode(message.content))
    assert description["FunctionId"] == "Host.Functions.on_bad_upload"
    assert (description["ContainerName"], description["BlobName"]) == ("bad-uploads", "broken.txt")
    time.sleep(2.5)  # more scans: it is not tried again
    assert call("GET", f"{host.api_url}/seen/bad_uploads").json == ["bad-uploads/broken.txt"] * 3
