"""host.json ``extensions.durableTask.storageProvider``: the backend the Durable extension would keep its
task hub in. devhost keeps every task hub in its own store (SQLite, or memory) whatever it says, so a
provider other than the default Azure Storage (the Durable Task Scheduler's ``azureManaged``, ``mssql``,
``netherite``) is named in one start-up line rather than ignored without a word."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.config.errors import DevHostError

DEFAULT_TYPE = "AzureStorage"
# The providers' own names, for the line (the extension reads the type in any case).
KNOWN = {
    "azuremanaged": "azureManaged (the Durable Task Scheduler)",
    "mssql": "mssql (Microsoft SQL Server)",
    "netherite": "Netherite",
}


@dataclass(frozen=True)
class StorageProvider:
    """The storage provider host.json names, and the setting that holds its connection."""

    type: str = DEFAULT_TYPE
    connection_name: str | None = None  # connectionStringName (Azure Storage: connectionName)

    def note(self) -> str | None:
        """The start-up line for a provider devhost stands in for; None for the default, Azure Storage."""
        if self.type.lower() == DEFAULT_TYPE.lower():
            return None
        name = KNOWN.get(self.type.lower(), f"'{self.type}'")
        unused = f" (the {self.connection_name} setting is not used)" if self.connection_name else ""
        return (
            f"host.json extensions.durableTask.storageProvider is {name}: devhost keeps orchestrations, "
            f"activities and entities in its own store instead{unused}."
        )


def parse_storage_provider(value: Any, path: Path) -> StorageProvider:
    """``extensions.durableTask.storageProvider`` read (the default, Azure Storage, when absent); a
    ``DevHostError`` naming the file when it is malformed."""
    if value is None:
        return StorageProvider()
    if not isinstance(value, dict):
        raise DevHostError(f"{path}: extensions.durableTask.storageProvider must be an object")
    kind = value.get("type") or DEFAULT_TYPE
    connection = value.get("connectionStringName") or value.get("connectionName")
    if not isinstance(kind, str) or not (connection is None or isinstance(connection, str)):
        raise DevHostError(
            f"{path}: extensions.durableTask.storageProvider's type and connection name must be strings"
        )
    return StorageProvider(kind, connection)
