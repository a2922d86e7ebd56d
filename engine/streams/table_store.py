"""Streams in Azure Table storage, in the app's Storage account (``AzureWebJobsStorage``).

One table (``TABLE``). A step's streams share a partition (the run's instance id and the step, quoted, so
a run's partitions sort together and a purge deletes one key range). Each attempt has a row ``a<attempt>``
(its writer, whether it is done); each chunk a row ``c<attempt>-<offset>``. Rows are created, never
replaced, so an attempt is claimed by one writer and a chunk's offset holds one text: the service commits
a row before any query can return it. Waiting polls every ``POLL_SECONDS``.

The partition ``INDEX`` lists the step partitions (a row each, written before a step's first attempt, and
deleted last by a purge), so the sweep reads one partition, not a scan of every chunk in the table.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from urllib.parse import quote, unquote

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from engine.core.streams import StreamRead, contiguous

TABLE = "EngineStreams"
INDEX = "!runs"  # no step's partition: quote() escapes '!' in an instance id
POLL_SECONDS = 0.1
_WIDTH = 10


def _run_key(instance_id: str) -> str:
    return quote(instance_id, safe="") + "|"


def _partition(instance_id: str, step: str) -> str:
    return _run_key(instance_id) + quote(step, safe="")


def _attempt_row(attempt: int) -> str:
    return f"a{attempt:0{_WIDTH}d}"


def _chunk_row(attempt: int, offset: int) -> str:
    return f"c{attempt:0{_WIDTH}d}-{offset:0{_WIDTH}d}"


class TableStreamStore:
    """A ``StreamStore`` in a Storage account's Table service, from a connection string."""

    def __init__(self, connection_string: str, table: str = TABLE) -> None:
        self._connection = connection_string
        self._table = table
        self._clients: dict[asyncio.AbstractEventLoop, TableClient] = {}

    async def _client(self) -> TableClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = TableClient.from_connection_string(self._connection, self._table)
            with contextlib.suppress(ResourceExistsError):
                await client.create_table()
            self._clients[loop] = client
        return client

    async def _attempts(self, instance_id: str, step: str) -> list[dict[str, object]]:
        client = await self._client()
        pk = _partition(instance_id, step)
        query = "PartitionKey eq @pk and RowKey ge 'a' and RowKey lt 'b'"
        return [dict(e) async for e in client.query_entities(query, parameters={"pk": pk})]

    async def open(self, instance_id: str, step: str, writer: str) -> int:
        """See ``StreamStore.open``: a new attempt is claimed by creating its row (one writer wins)."""
        client = await self._client()
        while True:
            rows = await self._attempts(instance_id, step)
            for row in rows:
                if row["writer"] == writer:
                    return int(str(row["RowKey"])[1:])
            attempt = len(rows) + 1
            entity = {
                "PartitionKey": _partition(instance_id, step),
                "RowKey": _attempt_row(attempt),
                "writer": writer,
                "done": False,
            }
            # Listed first: a crash between the two leaves an entry the sweep clears, never a stream unlisted.
            await client.upsert_entity({"PartitionKey": INDEX, "RowKey": entity["PartitionKey"]})
            try:
                await client.create_entity(entity)
            except ResourceExistsError:
                continue  # another writer claimed it first: look again
            return attempt

    async def append(self, instance_id: str, step: str, attempt: int, offset: int, text: str) -> bool:
        """See ``StreamStore.append``."""
        client = await self._client()
        pk = _partition(instance_id, step)
        row = _chunk_row(attempt, offset)
        try:
            await client.create_entity({"PartitionKey": pk, "RowKey": row, "text": text})
        except ResourceExistsError:
            held = await client.get_entity(pk, row)
            return held.get("text") == text
        return True

    async def finish(self, instance_id: str, step: str, attempt: int) -> None:
        """See ``StreamStore.finish``."""
        client = await self._client()
        entity = {
            "PartitionKey": _partition(instance_id, step),
            "RowKey": _attempt_row(attempt),
            "done": True,
        }
        await client.update_entity(entity, mode=UpdateMode.MERGE)

    async def latest(self, instance_id: str, step: str) -> int | None:
        """See ``StreamStore.latest``."""
        rows = await self._attempts(instance_id, step)
        return max((int(str(r["RowKey"])[1:]) for r in rows), default=None)

    async def read(self, instance_id: str, step: str, attempt: int, after: int) -> StreamRead:
        """See ``StreamStore.read``."""
        client = await self._client()
        pk = _partition(instance_id, step)
        query = "PartitionKey eq @pk and RowKey gt @low and RowKey lt @high"
        params = {"pk": pk, "low": _chunk_row(attempt, after), "high": _chunk_row(attempt + 1, 0)}
        rows = [
            (int(str(e["RowKey"]).rsplit("-", 1)[1]), str(e["text"]))
            async for e in client.query_entities(query, parameters=params)
        ]
        try:
            done = bool((await client.get_entity(pk, _attempt_row(attempt))).get("done"))
        except ResourceNotFoundError:
            done = False
        return contiguous(attempt, sorted(rows), after, done)

    async def purge(self, instance_id: str, steps: Collection[str] | None = None) -> int:
        """See ``StreamStore.purge``: every partition of the run (or the steps'), row by row."""
        client = await self._client()
        if steps is None:
            low = _run_key(instance_id)
            high = low[:-1] + "}"  # '|' + 1: the quoted instance id never holds '|' itself
            query = "PartitionKey ge @low and PartitionKey lt @high"
            ranges = [{"low": low, "high": high}]
            listed = [
                str(e["RowKey"])
                async for e in client.query_entities(
                    "PartitionKey eq @index and RowKey ge @low and RowKey lt @high",
                    parameters={"index": INDEX, "low": low, "high": high},
                    select=["RowKey"],
                )
            ]
        else:
            query = "PartitionKey eq @low"
            ranges = [{"low": _partition(instance_id, step)} for step in steps]
            listed = [_partition(instance_id, step) for step in steps]
        rows = [
            (str(e["PartitionKey"]), str(e["RowKey"]))
            for parameters in ranges
            async for e in client.query_entities(
                query, parameters=parameters, select=["PartitionKey", "RowKey"]
            )
        ]
        for pk, row in [*rows, *((INDEX, partition) for partition in listed)]:  # the index entries last
            with contextlib.suppress(ResourceNotFoundError):
                await client.delete_entity(pk, row)
        return sum(1 for _, row in rows if row.startswith("c"))

    async def runs(self) -> dict[str, set[str]]:
        """See ``StreamStore.runs``: the index partition's entries."""
        client = await self._client()
        found: dict[str, set[str]] = {}
        async for e in client.query_entities(
            "PartitionKey eq @index", parameters={"index": INDEX}, select=["RowKey"]
        ):
            run, _, step = str(e["RowKey"]).partition("|")
            found.setdefault(unquote(run), set()).add(unquote(step))
        return found

    async def _attempt_rows(self, instance_id: str, step: str) -> tuple[tuple[str, bool], ...]:
        return tuple((str(r["RowKey"]), bool(r.get("done"))) for r in await self._attempts(instance_id, step))

    async def _chunk_after(self, instance_id: str, step: str, attempt: int, offset: int) -> bool:
        """Whether the attempt has a chunk past ``offset`` (one row asked for, not the stream)."""
        client = await self._client()
        query = "PartitionKey eq @pk and RowKey gt @low and RowKey lt @high"
        params = {
            "pk": _partition(instance_id, step),
            "low": _chunk_row(attempt, offset),
            "high": _chunk_row(attempt + 1, 0),
        }
        async for _ in client.query_entities(query, parameters=params, results_per_page=1, select=["RowKey"]):
            return True
        return False

    async def wait_change(self, instance_id: str, step: str, timeout: float) -> None:
        """See ``StreamStore.wait_change``: polls the table (the attempt rows, and one row past the newest
        attempt's last chunk)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        rows = await self._attempt_rows(instance_id, step)
        newest = len(rows)
        end = (await self.read(instance_id, step, newest, 0)).next if newest else 0
        while loop.time() < deadline:
            await asyncio.sleep(min(POLL_SECONDS, max(deadline - loop.time(), 0)))
            if await self._attempt_rows(instance_id, step) != rows:
                return
            if newest and await self._chunk_after(instance_id, step, newest, end):
                return

    async def close(self) -> None:
        """Close the clients opened on the running loop."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()


__all__ = ["TableStreamStore"]
