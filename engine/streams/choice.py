"""Which stream store an app uses, from its settings (read once, when the app is created):

1. ``ENGINE_STREAMS=off`` keeps no stream (agents' calls write nothing; readers see no attempt: what the
   bench compares streaming against); ``ENGINE_STREAMS=memory`` forces the in-memory store (one process:
   tests, the in-memory runner);
   ``ENGINE_STREAMS=sqlite:PATH`` a SQLite file (``python -m engine serve`` sets one for its processes).
2. On devhost (``DEVHOST_STATE_FOLDER`` set: the folder devhost keeps its state in), a SQLite file there,
   ``streams.sqlite``: durable across a restart of the host, read by every process of the app.
3. With ``AzureWebJobsStorage`` a connection string naming an account (on Azure; or Azurite, spelled out),
   Azure Table storage in that account.
4. Otherwise in memory (``UseDevelopmentStorage=true`` included: ``func start`` runs the app's functions
   in one worker process, which the in-memory store serves).

The Durable Task runner (``python -m engine serve``, whose API and worker are processes of their own)
keeps streams in ``.engine/streams.sqlite`` unless the settings choose (``serve_streams_setting``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from engine.core.streams import MemoryStreamStore, NoStreams, StreamStore, choose_stream_store
from engine.streams.sqlite_store import SqliteStreamStore

STATE_FOLDER_SETTING = "DEVHOST_STATE_FOLDER"
FORCE_SETTING = "ENGINE_STREAMS"
STORAGE_SETTING = "AzureWebJobsStorage"
SQLITE_FILE = "streams.sqlite"


def store_from_settings(env: Mapping[str, str] | None = None) -> StreamStore:
    """The stream store the settings choose (see the module doc)."""
    env = os.environ if env is None else env
    forced = env.get(FORCE_SETTING, "").strip()
    if forced.lower() == "memory":
        return MemoryStreamStore()
    if forced.lower() == "off":
        return NoStreams()
    if forced.lower().startswith("sqlite:"):
        return SqliteStreamStore(Path(forced[len("sqlite:") :]))
    folder = env.get(STATE_FOLDER_SETTING, "").strip()
    if folder:
        return SqliteStreamStore(Path(folder) / SQLITE_FILE)
    storage = env.get(STORAGE_SETTING, "").strip()
    if storage:
        from engine.streams.table_store import TableStreamStore

        if "accountname=" in storage.lower():
            return TableStreamStore(storage)
    return MemoryStreamStore()


_chosen: dict[tuple[str, str, str], StreamStore] = {}


def serve_streams_setting(folder: Path, env: Mapping[str, str] | None = None) -> str | None:
    """The ``ENGINE_STREAMS`` value a host of separate processes (``python -m engine serve``) sets for
    them all: a SQLite file in ``folder``, unless the settings already choose a store; None then."""
    env = os.environ if env is None else env
    if env.get(FORCE_SETTING, "").strip() or "accountname=" in env.get(STORAGE_SETTING, "").lower():
        return None
    return f"sqlite:{(folder / SQLITE_FILE).resolve()}"


def chosen_store() -> StreamStore:
    """The store the current settings choose, made once per distinct settings."""
    env = os.environ
    key = (env.get(FORCE_SETTING, ""), env.get(STATE_FOLDER_SETTING, ""), env.get(STORAGE_SETTING, ""))
    store = _chosen.get(key)
    if store is None:
        store = _chosen[key] = store_from_settings()
    return store


def install() -> None:
    """Make the settings choose the process's stream store (``chosen_store``), from now on."""
    choose_stream_store(chosen_store)


__all__ = ["chosen_store", "install", "serve_streams_setting", "store_from_settings"]
