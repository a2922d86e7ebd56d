"""Blob, queue and table input and output bindings around a function, as the host and the worker run
them: inputs are read before the call and converted as the worker converts them; ``func.Out``
parameters are passed empty and what the function set (or returned, for a ``$return`` binding) is
written after it returns; nothing is written when it raises."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from devhost.storage import storage_io
from devhost.storage.binding_expressions import json_properties
from devhost.worker.value_conversions import Out, annotations, decode, encode

STORAGE_TYPES = frozenset({"blob", "queue", "table"})
STORAGE_TRIGGERS = frozenset({"queueTrigger", "blobTrigger"})
RETURN = "$return"

# The binding data of the trigger being run ({name} in paths and keys): the listeners set it for the
# call; an HTTP or activity call derives it from its trigger value.
binding_data: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "devhost_binding_data", default=None
)


@dataclass(frozen=True)
class StorageSpec:
    """One blob / queue / table binding of a function (its function.json entry)."""

    type: str
    name: str
    output: bool
    spec: dict[str, Any]


def storage_specs(bindings: list[Any], trigger_name: str) -> list[StorageSpec]:
    """The function's blob, queue and table bindings, other than its trigger."""
    specs = []
    for binding in bindings:
        kind = str(binding.type)
        if kind not in STORAGE_TYPES or binding.name == trigger_name:
            continue
        raw = getattr(binding, "direction", 0)
        output = getattr(raw, "value", raw) == 1
        specs.append(StorageSpec(kind, str(binding.name), output, dict(binding.get_dict_repr())))
    return specs


def connections(specs: list[StorageSpec]) -> Iterator[str | None]:
    """The ``connection`` each binding names (None: the default, AzureWebJobsStorage)."""
    for s in specs:
        yield s.spec.get("connection")


def _derived_data(trigger_value: Any) -> dict[str, Any]:
    """Binding data from an HTTP request (route and query values, a JSON body's properties) or an
    activity input (its properties, when an object)."""
    if isinstance(trigger_value, func.HttpRequest):
        return {
            **json_properties(trigger_value.get_body() or b""),
            **dict(trigger_value.params),
            **dict(trigger_value.route_params),
        }
    if isinstance(trigger_value, dict):
        return dict(trigger_value)
    return {}


def bind_storage(
    fn: Callable[..., Any], trigger_param: str, specs: list[StorageSpec], queue_encoding: str
) -> Callable[..., Any]:
    """``fn`` wrapped to run its Storage bindings: its inputs read and passed in, then its outputs written
    from what it set in them or returned."""
    hints = annotations(fn)

    def prepare(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Out], dict[str, Any]]:
        data = binding_data.get()
        if data is None:
            data = _derived_data(kwargs.get(trigger_param))
        outs: dict[str, Out] = {}
        for s in specs:
            if s.output:
                if s.name != RETURN:
                    outs[s.name] = kwargs[s.name] = Out()
                continue
            datum = (
                storage_io.read_blob(s.spec, data)
                if s.type == "blob"
                else storage_io.read_table(s.spec, data)
            )
            kwargs[s.name] = decode(s.type, hints.get(s.name), datum, {})
        return kwargs, outs, data

    def finish(result: Any, outs: dict[str, Out], data: dict[str, Any]) -> Any:
        for s in specs:
            if not s.output:
                continue
            value = result if s.name == RETURN else outs[s.name].get()
            if value is None:
                continue
            datum = encode(s.type, hints.get("return" if s.name == RETURN else s.name), value)
            if s.type == "blob":
                storage_io.write_blob(s.spec, data, datum)
            elif s.type == "queue":
                storage_io.write_queue(s.spec, data, datum, queue_encoding)
            else:
                storage_io.write_table(s.spec, data, datum)
        return None if any(s.output and s.name == RETURN for s in specs) else result

    if inspect.iscoroutinefunction(fn):

        async def bound_async(**kwargs: Any) -> Any:
            call_kwargs, outs, data = await asyncio.to_thread(prepare, kwargs)
            result = await fn(**call_kwargs)
            return await asyncio.to_thread(finish, result, outs, data)

        return bound_async

    def bound(**kwargs: Any) -> Any:
        call_kwargs, outs, data = prepare(kwargs)
        return finish(fn(**call_kwargs), outs, data)

    return bound
