"""Pydantic JSON schema -> the subset accepted by strict structured output (``"strict": true``).

Strict mode (OpenAI, Azure OpenAI) wants every object closed (``additionalProperties: false``) with every
property listed in ``required``; it accepts ``type``, ``properties``, ``items``, ``anyOf``, ``enum``,
``$ref``/``$defs`` and descriptions. Which *constraint* keywords it accepts differs by provider, model
and API version (Azure rejects ``minLength``, ``maximum``, ``pattern``, ...), so constraints are not sent
as keywords: they are written into the field's description for the model to read, and the answer is
validated against the pydantic model afterwards, which enforces them exactly.

Shapes strict mode cannot express fail here, when the agent is defined, rather than at the first call.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel

# Formats the OpenAI documentation lists for strict mode; any other (uri, binary, ...) becomes a hint.
_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"})

# Constraint keywords turned into description hints, in the order they are written.
_HINTS = (
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contentMediaType",
)

# Kept as they are; everything not listed here or in _HINTS is dropped (default, examples, discriminator…).
_KEEP = frozenset({"type", "properties", "items", "anyOf", "enum", "$ref", "$defs", "description", "title"})

_NAME = re.compile(r"[^a-zA-Z0-9_-]")


class UnsupportedSchemaError(TypeError):
    """The type cannot be expressed as a strict JSON schema (open dicts, tuples, ...)."""


def schema_name(model: type[BaseModel]) -> str:
    """A ``json_schema.name`` the API accepts: ``^[a-zA-Z0-9_-]{1,64}$``."""
    return _NAME.sub("_", model.__name__)[:64] or "Output"


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The strict-mode JSON schema of ``model`` (a new dict; the model's own schema is not touched)."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise UnsupportedSchemaError(f"{model!r} is not a pydantic model")
    root = copy.deepcopy(model.model_json_schema())
    converted = _Converter(root, model.__name__).convert(root, "")
    if converted.get("type") != "object":
        raise UnsupportedSchemaError(f"{model.__name__}: the root of a strict schema must be an object")
    return converted


class _Converter:
    def __init__(self, root: dict[str, Any], owner: str) -> None:
        self.root = root
        self.owner = owner

    def fail(self, path: str, why: str) -> UnsupportedSchemaError:
        where = f"{self.owner}{path}" if path else self.owner
        return UnsupportedSchemaError(f"{where}: {why} cannot be expressed in strict structured output")

    def convert(self, schema: dict[str, Any], path: str) -> dict[str, Any]:
        """``schema`` (at ``path``, for errors) in the subset strict structured output accepts."""
        schema = self._normalized(schema, path)
        out: dict[str, Any] = {}
        hints: list[tuple[int, str]] = []
        for key, value in schema.items():
            if key == "format" and value in _FORMATS:
                out[key] = value  # a format strict mode knows is kept; any other becomes a hint
            elif key in _HINTS:
                hints.append((_HINTS.index(key), _hint(key, value)))
            else:
                self._convert_key(key, value, path, out)
        if _is_object(schema):
            self._close_object(schema, path, out)
        if hints:
            text = "; ".join(hint for _, hint in sorted(hints))
            out["description"] = f"{out['description']} ({text})" if out.get("description") else text
        return out

    def _normalized(self, schema: dict[str, Any], path: str) -> dict[str, Any]:
        """The forms strict mode refuses, rewritten to ones it takes (or refused, naming the path)."""
        schema = dict(schema)
        if "allOf" in schema:
            parts = schema.pop("allOf")
            if len(parts) != 1:
                raise self.fail(path, "allOf with several parts")
            schema = {**parts[0], **schema}
        if "oneOf" in schema:
            # A discriminated union: every branch is closed and tagged, so anyOf means the same thing.
            schema["anyOf"] = schema.pop("oneOf")
        if "const" in schema:
            schema["enum"] = [schema.pop("const")]
        if "prefixItems" in schema:
            raise self.fail(path, "a tuple")
        if "$ref" in schema and len(schema) > 1:
            # Strict mode refuses siblings next to $ref (a field description, say): inline the target,
            # letting the field's own keys win.
            target = self.resolve(schema["$ref"], path)
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **rest}
        return schema

    def _convert_key(self, key: str, value: Any, path: str, out: dict[str, Any]) -> None:
        """One keyword of a schema into ``out``: kept, converted below it, dropped, or refused."""
        if key == "$defs":
            out[key] = {name: self.convert(sub, f"{path}.$defs.{name}") for name, sub in value.items()}
        elif key == "properties":
            out[key] = {name: self.convert(sub, f"{path}.{name}") for name, sub in value.items()}
            # Every property is required in strict mode; optional ones stay nullable through anyOf.
            out["required"] = list(value)
        elif key == "items":
            if not isinstance(value, dict):
                raise self.fail(path, "an array with items: false")
            out[key] = self.convert(value, f"{path}[]")
        elif key == "anyOf":
            out[key] = [self.convert(sub, path) for sub in value]
        elif key in _KEEP:
            out[key] = value
        elif key == "additionalProperties" and value is not False:
            raise self.fail(path, "an open mapping (dict[str, ...])")

    def _close_object(self, schema: dict[str, Any], path: str, out: dict[str, Any]) -> None:
        """An object is closed in strict mode: no properties beyond those listed, every one required."""
        if "properties" not in out:
            if schema.get("additionalProperties", False) is not False:
                raise self.fail(path, "an open mapping (dict[str, ...])")
            out["properties"] = {}
            out["required"] = []
        out["additionalProperties"] = False

    def resolve(self, ref: str, path: str) -> dict[str, Any]:
        prefix = "#/$defs/"
        if not ref.startswith(prefix) or ref[len(prefix) :] not in self.root.get("$defs", {}):
            raise self.fail(path, f"the reference {ref!r}")
        return self.root["$defs"][ref[len(prefix) :]]


def _is_object(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object" or "properties" in schema


def _hint(key: str, value: Any) -> str:
    if key == "uniqueItems":
        return "items must be unique" if value else "items may repeat"
    if key == "contentMediaType":
        return f"a string holding {value} text"
    return f"{key}: {value}"


def strict_tool_parameters(schema: dict[str, Any], owner: str) -> tuple[dict[str, Any], bool, list[str]]:
    """An MCP tool's input schema for the model: (parameters, strict, optional property names).

    Strict mode wants every property required, so the ones the server leaves optional become nullable
    (a null then means "leave it out", as for function tools). A schema strict mode cannot express (an
    open mapping, a tuple) is sent as the server wrote it, not strict.
    """
    source = copy.deepcopy(schema) if isinstance(schema, dict) else {}
    source.setdefault("type", "object")
    source.setdefault("properties", {})
    required = set(source.get("required", []))
    optional = [name for name in source["properties"] if name not in required]
    for name in optional:
        sub = source["properties"][name]
        source["properties"][name] = {"anyOf": [sub, {"type": "null"}]}
        if isinstance(sub, dict) and "description" in sub:
            source["properties"][name]["description"] = sub["description"]
    try:
        return _Converter(source, owner).convert(source, ""), True, optional
    except UnsupportedSchemaError:
        return copy.deepcopy(schema) if isinstance(schema, dict) else {"type": "object"}, False, []
