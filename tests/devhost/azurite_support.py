"""Tests that need Azurite: skipped with the reason on a developer machine without it, failed in CI,
where .ci/run installs it and sets DEVHOST_REQUIRE_AZURITE=1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devhost.storage.azurite import HOW_TO_GET, find_azurite

REQUIRE_SETTING = "DEVHOST_REQUIRE_AZURITE"


def need_azurite(app_dir: Path) -> None:
    if find_azurite(app_dir) is not None:
        return
    reason = f"Azurite is not installed: {HOW_TO_GET}"
    if os.environ.get(REQUIRE_SETTING):
        pytest.fail(f"{REQUIRE_SETTING} is set (CI) and {reason}")
    pytest.skip(reason)


def storage_clients(connection: str) -> tuple[object, object, object]:
    """The blob, queue and table service clients a test uses to look at Azurite directly."""
    from azure.data.tables import TableServiceClient
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

    return (
        BlobServiceClient.from_connection_string(connection),
        QueueServiceClient.from_connection_string(connection),
        TableServiceClient.from_connection_string(connection),
    )
