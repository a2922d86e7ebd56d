"""Blob, queue and table input/output bindings on the real devhost, against Azurite (which devhost starts
itself because local.settings.json says AzureWebJobsStorage=UseDevelopmentStorage=true)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any

import pytest

from devhost.storage.storage_account import DEFAULT_CONNECTION
from devhost.testing import DevHostHandle, run_devhost
from devhost.triggers.trigger_services import storage_warnings
from tests.devhost.azurite_support import need_azurite, storage_clients
from tests.devhost.helpers import APPS, call

APP = APPS / "storage"


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    need_azurite(APP)
    with run_devhost(APP) as handle:
        yield handle


@pytest.fixture(scope="module")
def clients(host: DevHostHandle) -> tuple[Any, Any, Any]:
    # devhost pointed AzureWebJobsStorage at the Azurite it started: the test reaches the same one.
    return storage_clients(os.environ[DEFAULT_CONNECTION])


def test_devhost_started_azurite_and_points_the_setting_at_it(host):
    # func start with UseDevelopmentStorage=true talks to the emulator on its ports; devhost runs its own
    # Azurite on free ports and sets the explicit connection string for them, for the app's SDK calls too.
    conn = os.environ[DEFAULT_CONNECTION]
    endpoints = host.host.triggers.endpoints
    assert f"BlobEndpoint=http://127.0.0.1:{endpoints.blob}/devstoreaccount1" in conn


def test_blob_output_then_input_as_inputstream_str_and_bytes(host):
    # Worker conversions (azure-functions-python-worker functions.py: a str/bytes parameter takes the
    # generic binding; azure.functions blob.py BlobConverter gives InputStream otherwise); the host sends
    # blob content as bytes unless the binding says dataType "string".
    assert call("PUT", f"{host.api_url}/docs/a.txt", raw=b"hello blob").status == 201
    assert call("GET", f"{host.api_url}/docs/a.txt").json == {"type": "InputStream", "text": "hello blob"}
    assert call("GET", f"{host.api_url}/docs-text/a.txt").json == {"type": "str", "text": "hello blob"}
    assert call("GET", f"{host.api_url}/docs-bytes/a.txt").json == {"type": "bytes", "size": 10}


def test_missing_blob_input_is_none(host):
    # The Blobs extension binds a missing blob as null (its input binding reads "no blob" as a null
    # stream), which the worker's BlobConverter.decode turns into None (azure.functions blob.py).
    assert call("GET", f"{host.api_url}/docs/none.txt").status == 404


def test_outputs_are_not_written_when_the_function_fails(host, clients):
    # The host flushes output bindings only after the invocation succeeds (FunctionExecutor).
    assert call("PUT", f"{host.api_url}/docs-fail/never.txt", raw=b"x").status == 500
    assert not clients[0].get_blob_client("docs", "never.txt").exists()


def test_queue_output_writes_base64_messages(host, clients):
    # QueuesOptions.MessageEncoding defaults to base64: the extension writes the message text base64-encoded.
    assert call("POST", f"{host.api_url}/enqueue/plain", raw=b"one message").status == 202
    messages = list(clients[1].get_queue_client("plain").peek_messages(max_messages=5))
    assert [base64.b64decode(m.content).decode() for m in messages] == ["one message"]


def test_queue_output_of_a_list_is_one_message_per_item(host, clients):
    # A JSON array bound to a queue output goes through the host's collector: one message per item.
    assert call("POST", f"{host.api_url}/enqueue-many", ["a", "b", "c"]).status == 202
    messages = list(clients[1].get_queue_client("many").peek_messages(max_messages=10))
    assert sorted(base64.b64decode(m.content).decode() for m in messages) == ["a", "b", "c"]


def test_table_output_then_input_by_query(host):
    # Tables extension (TablesExtensionConfigProvider): the output adds entities, the binding's
    # partitionKey filling the missing key; the input binds the query's entities (partition, take) as a
    # JSON array of ConvertEntityToJObject's objects.
    for key, name in (("1", "Ada"), ("2", "Grace"), ("3", "Edsger")):
        reply = call("POST", f"{host.api_url}/rows", {"RowKey": key, "name": name})
        assert reply.status == 201, reply.text
    rows = call("GET", f"{host.api_url}/rows").json
    assert len(rows) == 2 and all(r["PartitionKey"] == "staff" for r in rows)
    assert {"RowKey", "Timestamp", "odata.etag", "name"} <= set(rows[0])


def test_table_input_ignores_row_key_as_the_host_does_for_python(host):
    # The host binds a Python function's table input to the extension's JArray rule, which does not read
    # rowKey: the whole partition comes back (Azure/azure-functions-python-worker#1231,
    # Azure/azure-functions-host#10356, both open). devhost does the same, and says so at start-up.
    call("POST", f"{host.api_url}/rows", {"RowKey": "k1", "name": "Barbara"})
    rows = call("GET", f"{host.api_url}/rows/k1").json
    assert isinstance(rows, list) and "Barbara" in [r["name"] for r in rows] and len(rows) > 1
    (warning,) = storage_warnings(host.host.index)
    assert "Function 'get_row'" in warning and "row_key" in warning and "#1231" in warning


def test_table_output_does_not_replace_an_existing_entity(host):
    # The table output binding adds; an entity with the same keys makes the invocation fail.
    assert call("POST", f"{host.api_url}/rows", {"RowKey": "dup", "name": "first"}).status == 201
    assert call("POST", f"{host.api_url}/rows", {"RowKey": "dup", "name": "second"}).status == 500
    rows = call("GET", f"{host.api_url}/rows/dup").json
    assert [r["name"] for r in rows if r["RowKey"] == "dup"] == ["first"]


def test_banner_lists_the_storage_triggers(host):
    # Core Tools lists every function at start with its trigger type ("name: queueTrigger"); Storage
    # functions are no longer under "Not run by devhost".
    banner = host.host.banner()
    for line in ("on_order: queueTrigger", "on_upload: blobTrigger", "flaky: queueTrigger"):
        assert f"\t{line}\n" in banner
    assert "Not run by devhost" not in banner
