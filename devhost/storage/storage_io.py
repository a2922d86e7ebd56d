"""What the Storage extensions do for one binding: read a blob or table entities into the datum the host
sends to the worker, and write an output datum to a blob, a queue or a table."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.functions import meta

from devhost.storage import storage_account
from devhost.storage.binding_expressions import resolve, split_blob_path
from devhost.worker.value_conversions import datum_bytes, datum_text

# host.json extensions.queues.messageEncoding: the extension writes and reads messages base64-encoded
# unless it says "none" (QueuesOptions.MessageEncoding).
BASE64 = "base64"


def read_blob(spec: dict[str, Any], data: dict[str, Any]) -> meta.Datum:
    """A blob input: its bytes (text for dataType "string", as the host converts for the worker); a
    missing blob is null, as the host passes it."""
    container, name = split_blob_path(resolve(str(spec["path"]), data))
    client = storage_account.blob_service(spec.get("connection")).get_blob_client(container, name)
    try:
        content = client.download_blob().readall()
    except ResourceNotFoundError:
        return meta.Datum(None, None)
    if str(spec.get("dataType") or "").lower() == "string":
        return meta.Datum(content.decode("utf-8"), "string")
    return meta.Datum(content, "bytes")


def write_blob(spec: dict[str, Any], data: dict[str, Any], value: meta.Datum) -> None:
    """Write an output datum to the blob its path names (the container is created when missing)."""
    container, name = split_blob_path(resolve(str(spec["path"]), data))
    service = storage_account.blob_service(spec.get("connection"))
    _ensure(lambda: service.create_container(container))  # the extension creates the container
    service.get_blob_client(container, name).upload_blob(datum_bytes(value), overwrite=True)


def queue_messages(value: meta.Datum) -> list[bytes]:
    """An output datum as messages: a JSON array is one message per item (the host's collector), anything
    else one message with the value's text."""
    payload: Any = value.value
    if value.type == "json" and isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return [payload.encode("utf-8")]
    if isinstance(payload, list):
        return [(item if isinstance(item, str) else json.dumps(item)).encode("utf-8") for item in payload]
    return [datum_bytes(value)]


def encode_message(body: bytes, encoding: str) -> str:
    """A queue message's body as stored: base64, or the text as it is (``messageEncoding`` none)."""
    return base64.b64encode(body).decode("ascii") if encoding == BASE64 else body.decode("utf-8")


def decode_message(content: str, encoding: str) -> bytes:
    """A queue message's body from its stored content; ValueError for content that is not valid base64."""
    if encoding == BASE64:
        try:
            return base64.b64decode(content, validate=True)
        except ValueError:
            # The extension fails such a message as it would any invocation, and it ends in the poison queue.
            raise ValueError(
                "the message is not valid base64 (host.json extensions.queues.messageEncoding)"
            ) from None
    return content.encode("utf-8")


def write_queue(spec: dict[str, Any], data: dict[str, Any], value: meta.Datum, encoding: str) -> None:
    """Send an output datum to the queue its binding names, one message per item of a list (the queue is
    created when missing)."""
    queue = storage_account.queue_service(spec.get("connection")).get_queue_client(
        resolve(str(spec["queueName"]), data).lower()
    )
    _ensure(queue.create_queue)  # the extension creates the queue on first use
    for body in queue_messages(value):
        queue.send_message(encode_message(body, encoding))


def _entity_json(entity: Any) -> dict[str, Any]:
    """An entity as the Tables extension converts it to JSON (``ConvertEntityToJObject``: every key of
    the SDK's TableEntity, so ``odata.etag``, PartitionKey, RowKey, Timestamp and the properties)."""
    metadata = getattr(entity, "metadata", {}) or {}
    out: dict[str, Any] = {}
    if metadata.get("etag"):
        out["odata.etag"] = metadata["etag"]
    for key, val in entity.items():
        out[key] = _json_value(val)
    if metadata.get("timestamp") is not None:
        out["Timestamp"] = _json_value(metadata["timestamp"])
    return out


def _json_value(val: Any) -> Any:
    if isinstance(val, datetime):
        return val.isoformat()
    if isinstance(val, bytes):
        return base64.b64encode(val).decode("ascii")
    if hasattr(val, "value"):  # EntityProperty (an Int64, a GUID)
        return _json_value(val.value)
    return val if isinstance(val, str | int | float | bool) or val is None else str(val)


def read_table(spec: dict[str, Any], data: dict[str, Any]) -> meta.Datum:
    """A table input as the host gives it to a Python (or any non-.NET) worker: always the JSON array of
    the query's entities (partitionKey, filter, take). The host binds script languages' table inputs to
    the extension's JArray rule, which does not read rowKey, so a row_key is ignored and the whole
    partition comes back (Azure/azure-functions-python-worker#1231, Azure/azure-functions-host#10356:
    open, seen on Azure and with Core Tools). devhost does the same, so an app tested here behaves the
    same there, and warns at start-up (rowkey_warnings)."""
    table = storage_account.table_service(spec.get("connection")).get_table_client(
        resolve(str(spec["tableName"]), data)
    )
    clauses = []
    if spec.get("partitionKey"):
        partition = resolve(str(spec["partitionKey"]), data)
        clauses.append("PartitionKey eq '" + partition.replace("'", "''") + "'")
    if spec.get("filter"):
        clauses.append(f"({resolve(str(spec['filter']), data)})")
    take = int(spec["take"]) if spec.get("take") else 0
    rows = []
    # A table that does not exist fails the query, and the invocation with it, as in the extension.
    for entity in table.query_entities(" and ".join(clauses)) if clauses else table.list_entities():
        rows.append(_entity_json(entity))
        if take > 0 and len(rows) >= take:
            break
    return meta.Datum(json.dumps(rows), "json")


def rowkey_warnings(function: str, specs: list[Any]) -> list[str]:
    """What to tell the user at start-up about table inputs whose row_key the host ignores."""
    return [
        f"Function '{function}': the table input '{s.name}' sets row_key, which the Functions host ignores "
        "for Python apps (Azure/azure-functions-python-worker#1231): it gets the JSON array of the "
        "partition's entities, on Azure and here. Pick the row from the array, or use filter."
        for s in specs
        if s.type == "table" and not s.output and s.spec.get("rowKey")
    ]


def write_table(spec: dict[str, Any], data: dict[str, Any], value: meta.Datum) -> None:
    """A table output: an entity or a JSON array of entities, each added (TableEntityWriter: an entity
    without an ETag is an Add, so a row that exists fails the invocation). PartitionKey / RowKey in the
    entity (any case) win over the binding's partitionKey / rowKey (CreateTableEntityFromJObject)."""
    payload = json.loads(datum_text(value))
    entities = payload if isinstance(payload, list) else [payload]
    service = storage_account.table_service(spec.get("connection"))
    name = resolve(str(spec["tableName"]), data)
    _ensure(lambda: service.create_table(name))
    table = service.get_table_client(name)
    for entity in entities:
        if not isinstance(entity, dict):
            raise TypeError(f"a table output entity must be a JSON object, got {entity!r}")
        row = {}
        keys = {"partitionkey": "PartitionKey", "rowkey": "RowKey"}
        for setting, key in (("partitionKey", "PartitionKey"), ("rowKey", "RowKey")):
            if spec.get(setting):
                row[key] = resolve(str(spec[setting]), data)
        for prop, val in entity.items():
            row[keys.get(prop.lower(), prop)] = val
        for key in keys.values():
            if not row.get(key):
                raise ValueError(f"a table output entity needs a {key} (in the entity or the binding)")
        table.create_entity(row)


def _ensure(create: Any) -> None:
    with contextlib.suppress(ResourceExistsError):
        create()
