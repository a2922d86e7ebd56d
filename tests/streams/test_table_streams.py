"""Azure Table storage end to end: devhost runs the app with ``AzureWebJobsStorage`` an explicit Azurite
connection string (an account named, as on Azure; devhost keeps its own state in memory, so no state
folder chooses SQLite first), an agent step's stream is written to the ``EngineStreams`` table by the call
activity (and listed in the table's index partition) and read through the stream route, every chunk once;
the workflow API's purge deletes its rows and its index entry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from azure.data.tables.aio import TableClient

from devhost.testing import DevHostHandle, run_devhost
from engine.streams.table_store import INDEX, TABLE
from tests.durable.http import call, finished, post, wait_for
from tests.streams.hosting import BRIEF, ROOT, follow, stream_settings


@pytest.fixture(scope="module")
def host(azurite_connection: str) -> Iterator[DevHostHandle]:
    settings = {**stream_settings(40), "AzureWebJobsStorage": azurite_connection, "ENGINE_STREAMS": ""}
    with run_devhost(ROOT, settings=settings) as handle:
        yield handle


def _rows(connection: str, run: str, key: str = "PartitionKey", index: bool = False) -> list[str]:
    """The RowKeys of the run's rows in the EngineStreams table (``index``: of its entries in the index
    partition, the step partitions listed), read with the Tables SDK."""

    async def read() -> list[str]:
        low = quote(run, safe="") + "|"
        where = f"{key} ge @low and {key} lt @high" + (" and PartitionKey eq @index" if index else "")
        async with TableClient.from_connection_string(connection, TABLE) as table:
            return [
                str(e["RowKey"])
                async for e in table.query_entities(
                    where, parameters={"low": low, "high": low[:-1] + "}", "index": INDEX}
                )
            ]

    return asyncio.run(read())


def test_a_stream_is_written_to_table_storage_and_read_through_the_route(
    host: DevHostHandle, azurite_connection: str
) -> None:
    api = f"{host.api_url}/workflows/s_stream"
    run = post(api, BRIEF).body["id"]
    chunks, reads = follow(f"{api}/runs/{run}/steps/s_writer/stream")
    assert reads > 2
    assert [o for o, _ in chunks] == list(range(1, len(chunks) + 1))
    view = wait_for(f"{api}/runs/{run}", finished).body
    assert json.loads("".join(t for _, t in chunks)) == view["outputs"][0]
    rows = _rows(azurite_connection, run)
    assert sorted(r for r in rows if r.startswith("c")) == [f"c{1:010d}-{o:010d}" for o, _ in chunks]
    assert [r for r in rows if r.startswith("a")] == [f"a{1:010d}"]
    listed = _rows(azurite_connection, run, "RowKey", index=True)
    assert [entry.split("|")[1].split("%40")[0] for entry in listed] == ["s_writer"]  # s_writer@nonce
    purged = call("DELETE", f"{api}/runs/{run}")
    assert purged.status == 200 and purged.body["streamChunks"] == len(chunks), purged.body
    assert _rows(azurite_connection, run) == []
    assert _rows(azurite_connection, run, "RowKey", index=True) == []
