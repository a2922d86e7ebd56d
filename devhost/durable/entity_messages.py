"""The messages of durable entities, in the Durable extension's JSON shapes.

Entity ids: an entity is the instance ``@name@key`` (its scheduler id); the name is case-insensitive and
kept in lower case (the extension's EntityId, the SDK's ``EntityId.get_scheduler_id``).

Requests to an entity are the extension's RequestMessage (``op``, ``signal``, ``input``, ``id``,
``parent``...), recorded in the sender's history as the EventSent's Input; a call's answer is its
ResponseMessage (``result``, and ``exceptionType`` only when the operation failed), raised on the caller
as an EventRaised named by the request id. The entity trigger's value and answer are those of the
extension's out-of-process entity binding (EntityTriggerAttributeBindingProvider.EntityContextToString,
TaskEntityShim.ExecuteOutOfProcBatch): ``{self, exists, state, batch}`` in, ``{entityExists,
entityState, results, signals}`` out.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The extension answers a failed out-of-process operation with this exception type.
OPERATION_ERROR_TYPE = "Error"
REQUEST_EVENT_NAME = "op"


def scheduler_id(name: str, key: str) -> str:
    """The entity's instance id: ``@name@key``, the name in lower case."""
    return f"@{name.lower()}@{key}"


def split_scheduler_id(instance_id: str) -> tuple[str, str]:
    """(name, key) of ``@name@key``; ValueError for anything else (the key may hold '@')."""
    if not instance_id.startswith("@"):
        raise ValueError(f"'{instance_id}' is not an entity instance id (@name@key).")
    name, sep, key = instance_id[1:].partition("@")
    if not sep or not name:
        raise ValueError(f"'{instance_id}' is not an entity instance id (@name@key).")
    return name, key


def is_entity_instance(instance_id: str) -> bool:
    """Whether an instance id is an entity's (``@name@key``)."""
    return instance_id.startswith("@")


class RequestMessage(BaseModel):
    """An operation for an entity: a signal (one-way) or a call (answered to ``parent``)."""

    model_config = ConfigDict(populate_by_name=True)

    op: str
    id: str
    signal: bool = False
    input: str | None = None  # JSON text of the operation's input
    parent: str | None = None
    parent_execution: str | None = Field(default=None, alias="parentExecution")
    timestamp: str | None = None

    def wire(self) -> dict[str, Any]:
        """The JSON object as the extension writes it (false and null members left out)."""
        out = self.model_dump(by_alias=True, exclude_none=True)
        if not self.signal:
            out.pop("signal")
        return out


class ResponseMessage(BaseModel):
    """The answer to an entity call: its result, and ``exceptionType`` when the operation failed."""

    model_config = ConfigDict(populate_by_name=True)

    result: str | None
    exception_type: str | None = Field(default=None, alias="exceptionType")

    def wire_text(self) -> str:
        """The answer as the extension's JSON text (``exceptionType`` only on a failure)."""
        out: dict[str, Any] = {"result": self.result}
        if self.exception_type is not None:
            out["exceptionType"] = self.exception_type
        return json.dumps(out)


class OperationResult(BaseModel):
    """One operation's result in the entity function's answer: its value or error, as JSON text."""

    is_error: bool = Field(alias="isError")
    result: str | None = None  # JSON text of the returned value, or of the error message
    duration: int = 0
    start_time: int | None = Field(default=None, alias="startTime")


class EntitySignal(BaseModel):
    """A signal the entity sends to another entity during its batch."""

    class Target(BaseModel):
        """The entity a signal goes to."""

        name: str
        key: str

    target: Target
    name: str
    input: str | None = None


class BatchResult(BaseModel):
    """The entity function's answer to one batch."""

    entity_exists: bool = Field(alias="entityExists")
    entity_state: str | None = Field(default=None, alias="entityState")
    results: list[OperationResult] = Field(default_factory=list)
    signals: list[EntitySignal] = Field(default_factory=list)


def batch_context(name: str, key: str, exists: bool, state: str | None, ops: list[RequestMessage]) -> str:
    """The entity trigger's value for a batch of operations."""
    return json.dumps(
        {
            "self": {"name": name, "key": key},
            "exists": exists,
            "state": state,
            "batch": [{"name": r.op, "input": r.input, "isSignal": r.signal, "id": r.id} for r in ops],
        }
    )


def parse_batch_result(answer: Any) -> BatchResult:
    """The function's answer (JSON text, or already a dict); ValueError when it is not the shape."""
    try:
        data = json.loads(answer) if isinstance(answer, str | bytes) else answer
        return BatchResult.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise ValueError(f"the entity function did not answer with the entity batch JSON: {exc}") from None
