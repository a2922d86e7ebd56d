"""The Python worker's conversions between what the host sends (a typed datum) and what a function's
parameter receives, and back for outputs: through azure.functions' own converters, chosen as the worker
chooses them (azure-functions-python-worker ``functions.py`` / ``bindings/meta.py``): a parameter
annotated ``str`` or ``bytes`` takes the generic binding (the datum's value as it is), any other takes the
converter registered for the binding type (``blob`` -> InputStream, ``queueTrigger`` -> QueueMessage,
``timerTrigger`` -> TimerRequest), else the generic one."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

import azure.functions as func
from azure.functions import meta


class Out(func.Out[Any]):
    """What the worker passes for a ``func.Out[...]`` parameter."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        """Set the output value."""
        self._value = val

    def get(self) -> Any:
        """The output value set (None until one is)."""
        return self._value


class _Generic:
    """The worker's GenericBinding: the datum's value as it came (str, bytes, JSON text)."""

    @staticmethod
    def decode(data: meta.Datum, *, trigger_metadata: Any) -> Any:
        return None if data is None else data.value

    @staticmethod
    def encode(obj: Any, *, expected_type: Any) -> meta.Datum:
        if isinstance(obj, str):
            return meta.Datum(obj, "string")
        if isinstance(obj, bytes | bytearray):
            return meta.Datum(bytes(obj), "bytes")
        if obj is None:
            return meta.Datum(None, None)
        if isinstance(obj, dict | list):
            return meta.Datum(obj, "dict" if isinstance(obj, dict) else "list")
        if isinstance(obj, bool | int | float):
            return meta.Datum(obj, "int" if isinstance(obj, int) else "double")
        raise NotImplementedError


def annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    """The function's resolved type hints; its raw annotations when they do not resolve."""
    try:
        return typing.get_type_hints(fn)
    except Exception:  # an annotation that does not resolve: the worker then treats it as absent
        return dict(getattr(fn, "__annotations__", {}) or {})


def out_type(annotation: Any) -> Any:
    """``func.Out[T]`` -> T; anything else as it is."""
    origin = typing.get_origin(annotation)
    if isinstance(origin, type) and origin.__name__ == "Out":
        args = typing.get_args(annotation)
        return args[0] if args else None
    return annotation


def converter(binding_type: str, annotation: Any) -> Any:
    """The converter the worker would choose for this binding type and annotation."""
    if annotation in (str, bytes):
        return _Generic
    return meta.get_binding_registry().get(binding_type) or _Generic


def decode(binding_type: str, annotation: Any, data: meta.Datum, metadata: dict[str, meta.Datum]) -> Any:
    """A datum from the host as the parameter receives it."""
    return converter(binding_type, annotation).decode(data, trigger_metadata=metadata)


def encode(binding_type: str, annotation: Any, value: Any) -> meta.Datum:
    """An output value as the worker hands it to the host; a value the converter cannot encode fails
    the invocation, as in the worker."""
    try:
        return converter(binding_type, out_type(annotation)).encode(value, expected_type=out_type(annotation))
    except NotImplementedError:
        raise TypeError(
            f"unable to encode outgoing value of type {type(value).__name__} for the {binding_type} binding"
        ) from None


def datum_text(data: meta.Datum) -> str:
    """A datum as the host reads it for a text payload (a blob, a message, an entity)."""
    import json

    if data.type == "bytes":
        return bytes(data.value).decode("utf-8")
    if data.type in ("dict", "list") or not isinstance(data.value, str):
        return json.dumps(data.value)
    return str(data.value)


def datum_bytes(data: meta.Datum) -> bytes:
    """A datum as bytes: bytes as they are, anything else as UTF-8 text."""
    if data.type == "bytes":
        return bytes(data.value)
    return datum_text(data).encode("utf-8")
