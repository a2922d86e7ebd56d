"""Which storage account a binding's ``connection`` names, and the SDK clients devhost reaches it with.

As the host resolves it (WebJobs ``IConfiguration.GetWebJobsConnectionString``): the app setting named by
``connection`` (none: ``AzureWebJobsStorage``), else ``AzureWebJobs<connection>``. Its value is a
connection string; ``UseDevelopmentStorage=true`` means Azurite, which devhost runs (azurite).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from devhost.config.errors import DevHostError

DEFAULT_CONNECTION = "AzureWebJobsStorage"
DEVELOPMENT = "usedevelopmentstorage=true"


def setting_name(connection: str | None, environ: dict[str, str] | None = None) -> str:
    """The app setting a binding's connection resolves to (the first one set)."""
    env = os.environ if environ is None else environ
    name = connection or DEFAULT_CONNECTION
    for candidate in (name, f"AzureWebJobs{name}"):
        if env.get(candidate, "").strip():
            return candidate
    return name


def connection_string(connection: str | None) -> str:
    """The connection string a binding's ``connection`` names; a ``DevHostError`` saying what is wrong when
    there is none devhost can use."""
    name = setting_name(connection)
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if os.environ.get(f"{name}__serviceUri") or os.environ.get(f"{name}__accountName"):
        raise DevHostError(
            f"the storage connection '{name}' is identity-based ({name}__serviceUri / __accountName): "
            "devhost cannot get a managed identity token; give it a connection string, or "
            "UseDevelopmentStorage=true for Azurite"
        )
    raise DevHostError(
        f"the storage connection '{name}' is not set: add it to local.settings.json Values "
        "(UseDevelopmentStorage=true for Azurite, or a storage account's connection string)"
    )


def uses_development_storage(connection: str | None) -> bool:
    """Whether the connection's setting is ``UseDevelopmentStorage=true`` (Azurite)."""
    return os.environ.get(setting_name(connection), "").strip().lower().replace(" ", "") == DEVELOPMENT


@cache
def _blob_service(conn: str) -> Any:
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(conn)


@cache
def _queue_service(conn: str) -> Any:
    from azure.storage.queue import QueueServiceClient

    return QueueServiceClient.from_connection_string(conn)


@cache
def _table_service(conn: str) -> Any:
    from azure.data.tables import TableServiceClient

    return TableServiceClient.from_connection_string(conn)


def blob_service(connection: str | None) -> Any:
    """A BlobServiceClient for the connection (one per connection string)."""
    return _blob_service(connection_string(connection))


def queue_service(connection: str | None) -> Any:
    """A QueueServiceClient for the connection (one per connection string)."""
    return _queue_service(connection_string(connection))


def table_service(connection: str | None) -> Any:
    """A TableServiceClient for the connection (one per connection string)."""
    return _table_service(connection_string(connection))
