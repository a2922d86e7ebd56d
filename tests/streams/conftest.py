"""Fixtures of the stream tests: each stream store adapter, Azure's against Azurite."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devhost.storage.azurite import Azurite, find_azurite
from engine.core.streams import MemoryStreamStore, StreamStore
from engine.streams.sqlite_store import SqliteStreamStore
from tests.devhost.azurite_support import need_azurite

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def azurite_connection() -> Iterator[str]:
    need_azurite(ROOT)
    executable = find_azurite(ROOT)
    assert executable is not None
    azurite = Azurite(executable, None)
    endpoints = azurite.start()
    try:
        yield endpoints.connection_string()
    finally:
        azurite.stop()


@pytest.fixture(params=["memory", "sqlite", "table"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StreamStore]:
    if request.param == "memory":
        yield MemoryStreamStore()
    elif request.param == "sqlite":
        made = SqliteStreamStore(tmp_path / "streams.sqlite")
        yield made
        made.close()
    else:
        from engine.streams.table_store import TableStreamStore

        connection = request.getfixturevalue("azurite_connection")
        table = TableStreamStore(connection, table="s" + uuid.uuid4().hex[:12])
        yield table
        await table.close()
