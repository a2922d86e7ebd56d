"""Which stream store the settings choose."""

from __future__ import annotations

from pathlib import Path

from engine.core.streams import MemoryStreamStore, NoStreams
from engine.streams.choice import serve_streams_setting, store_from_settings
from engine.streams.sqlite_store import SqliteStreamStore
from engine.streams.table_store import TableStreamStore

ACCOUNT = "DefaultEndpointsProtocol=https;AccountName=app;AccountKey=a2V5;EndpointSuffix=core.windows.net"


def test_the_settings_choose_the_store(tmp_path: Path) -> None:
    on_devhost = store_from_settings({"DEVHOST_STATE_FOLDER": str(tmp_path), "AzureWebJobsStorage": ACCOUNT})
    assert isinstance(on_devhost, SqliteStreamStore) and on_devhost.path == tmp_path / "streams.sqlite"
    on_devhost.close()
    assert isinstance(store_from_settings({"AzureWebJobsStorage": ACCOUNT}), TableStreamStore)
    assert isinstance(
        store_from_settings({"AzureWebJobsStorage": "UseDevelopmentStorage=true"}), MemoryStreamStore
    )
    assert isinstance(store_from_settings({}), MemoryStreamStore)
    assert isinstance(store_from_settings({"AzureWebJobsStorage__accountName": "app"}), MemoryStreamStore)
    assert isinstance(
        store_from_settings({"ENGINE_STREAMS": "off", "AzureWebJobsStorage": ACCOUNT}), NoStreams
    )
    forced = {
        "ENGINE_STREAMS": "memory",
        "DEVHOST_STATE_FOLDER": str(tmp_path),
        "AzureWebJobsStorage": ACCOUNT,
    }
    assert isinstance(store_from_settings(forced), MemoryStreamStore)


def test_serve_keeps_streams_in_a_sqlite_file_its_processes_share(tmp_path: Path) -> None:
    setting = serve_streams_setting(tmp_path, {})
    assert setting == f"sqlite:{tmp_path.resolve() / 'streams.sqlite'}"
    store = store_from_settings({"ENGINE_STREAMS": setting})
    assert isinstance(store, SqliteStreamStore) and store.path == tmp_path.resolve() / "streams.sqlite"
    store.close()
    assert serve_streams_setting(tmp_path, {"AzureWebJobsStorage": ACCOUNT}) is None
    assert serve_streams_setting(tmp_path, {"ENGINE_STREAMS": "memory"}) is None
