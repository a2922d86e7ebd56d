"""The blob trigger by polling, as the Storage Blobs extension's container scan does
(``ScanBlobScanLogHybridPollingStrategy``, ``BlobReceiptManager`` in azure-sdk-for-net's
Microsoft.Azure.WebJobs.Extensions.Storage.Blobs):

- the container is listed on each scan; a blob whose path matches the trigger's pattern and that has no
  receipt for its current ETag is run (a blob written again has a new ETag and runs again);
- the receipt is a blob in the ``azure-webjobs-hosts`` container at
  ``blobreceipts/<hostId>/<function>/<etag>/<container>/<blob>``, written once the function succeeds, so a
  blob is processed once, across restarts too;
- a run that fails is tried again on later scans, up to maxDequeueCount times (host.json
  ``extensions.queues``: the extension runs blob triggers through an internal queue), then the blob's
  description goes to the ``webjobs-blobtrigger-poison`` queue and a receipt is written so it stops.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.functions import meta

from devhost.config.queue_settings import QueueSettings
from devhost.console import host_logs
from devhost.functions.listener_targets import ListenedFunction, invoke
from devhost.storage import storage_account
from devhost.storage.binding_expressions import blob_pattern, resolve_settings, split_blob_path
from devhost.worker.invocation import Invoker

HOSTS_CONTAINER = "azure-webjobs-hosts"
POISON_QUEUE = "webjobs-blobtrigger-poison"
SCAN_INTERVAL = 1.0  # seconds between container scans
DRAIN_SECONDS = 20.0  # how long a stopping host waits for the blob it is running


class BlobListener:
    """Scans a container for new or changed blobs matching the trigger's path, and runs the function once
    for each version of a blob."""

    def __init__(
        self,
        target: ListenedFunction,
        settings: QueueSettings,
        invoker: Invoker,
        client_binding: Callable[[], str],
        host_id: str,
    ) -> None:
        self.target = target
        self.settings = settings
        self.invoker = invoker
        self.client_binding = client_binding
        self.host_id = host_id
        self.path = resolve_settings(str(target.trigger["path"]))
        self.container, blob_part = split_blob_path(self.path)
        self.pattern = blob_pattern(blob_part)
        connection = target.trigger.get("connection")
        self.service = storage_account.blob_service(connection)
        self.queues = storage_account.queue_service(connection)
        self._attempts: dict[tuple[str, str], int] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """Create the containers it needs, then scan."""
        # Its container and the receipts' container exist once the host has started.
        await asyncio.to_thread(self._ensure_containers)
        self._task = asyncio.create_task(self._run(), name=f"devhost-blob-{self.target.name}")

    async def stop(self) -> None:
        """Stop scanning; the blob being run may finish and get its receipt first."""
        # The blob being run finishes and gets its receipt; no new one starts (the host's drain).
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), DRAIN_SECONDS)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    async def _run(self) -> None:
        while True:
            try:
                pending = await asyncio.to_thread(self._scan)
            except Exception as exc:
                host_logs.logger.warning("Blob container '%s': cannot scan: %s", self.container, exc)
                pending = []
            for blob in pending:
                if self._stopping.is_set():
                    return
                await self._process(blob)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), SCAN_INTERVAL)
                return

    def _ensure_containers(self) -> None:
        for name in (self.container, HOSTS_CONTAINER):
            with contextlib.suppress(ResourceExistsError):
                self.service.create_container(name)

    def _receipt_name(self, blob: Any) -> str:
        etag = str(blob.etag).strip('"')
        function = f"Host.Functions.{self.target.name}"
        return f"blobreceipts/{self.host_id}/{function}/{etag}/{self.container}/{blob.name}"

    def _scan(self) -> list[Any]:
        container = self.service.get_container_client(self.container)
        hosts = self.service.get_container_client(HOSTS_CONTAINER)
        prefix = f"blobreceipts/{self.host_id}/Host.Functions.{self.target.name}/"
        receipts = {r.name for r in hosts.list_blobs(name_starts_with=prefix)}
        return [
            blob
            for blob in container.list_blobs(include=["metadata"])
            if self.pattern.match(blob.name) and self._receipt_name(blob) not in receipts
        ]

    async def _process(self, blob: Any) -> None:
        key = (blob.name, str(blob.etag))
        try:
            content = await asyncio.to_thread(
                lambda: self.service.get_blob_client(self.container, blob.name).download_blob().readall()
            )
        except Exception:
            return  # deleted meanwhile: nothing to run
        match = self.pattern.match(blob.name)
        named: dict[str, Any] = {**(match.groupdict() if match else {})}
        path = f"{self.container}/{blob.name}"
        named.update({"BlobTrigger": path, "Uri": self._uri(blob.name)})
        properties = {"ContentLength": blob.size, "Length": blob.size, "ETag": str(blob.etag)}
        if blob.content_settings and blob.content_settings.content_type:
            properties["ContentType"] = blob.content_settings.content_type
        metadata = {
            "BlobTrigger": meta.Datum(path, "string"),
            "Uri": meta.Datum(named["Uri"], "string"),
            "Properties": meta.Datum(json.dumps(properties), "json"),
            "Metadata": meta.Datum(json.dumps(dict(blob.metadata or {})), "json"),
            **{k: meta.Datum(str(v), "string") for k, v in named.items() if k not in ("BlobTrigger", "Uri")},
        }
        if str(self.target.trigger.get("dataType") or "").lower() == "string":
            data = meta.Datum(content.decode("utf-8"), "string")
        else:
            data = meta.Datum(content, "bytes")
        try:
            await invoke(
                self.invoker,
                self.target,
                self.client_binding,
                data,
                metadata,
                named,
                f"New blob detected({self.target.trigger.get('source') or 'LogsAndContainerScan'}): {path}",
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            attempts = self._attempts.get(key, 0) + 1
            self._attempts[key] = attempts
            if attempts < self.settings.max_dequeue_count:
                return
            await asyncio.to_thread(self._to_poison, blob)
        self._attempts.pop(key, None)
        await asyncio.to_thread(self._write_receipt, blob)

    def _uri(self, name: str) -> str:
        return str(self.service.get_blob_client(self.container, name).url)

    def _write_receipt(self, blob: Any) -> None:
        receipt = self.service.get_blob_client(HOSTS_CONTAINER, self._receipt_name(blob))
        receipt.upload_blob(b"", overwrite=True, metadata={"IsCompleted": "true"})

    def _to_poison(self, blob: Any) -> None:
        host_logs.logger.warning(
            "Blob '%s/%s' failed %d times; its description goes to the queue '%s'.",
            self.container,
            blob.name,
            self.settings.max_dequeue_count,
            POISON_QUEUE,
        )
        queue = self.queues.get_queue_client(POISON_QUEUE)
        with contextlib.suppress(ResourceExistsError):
            queue.create_queue()
        description = {
            "Type": "BlobTrigger",
            "FunctionId": f"Host.Functions.{self.target.name}",
            "BlobType": "BlockBlob",
            "ContainerName": self.container,
            "BlobName": blob.name,
            "ETag": str(blob.etag),
        }
        queue.send_message(base64.b64encode(json.dumps(description).encode()).decode("ascii"))
