"""The offline model: a stand-in for an LLM when no provider is configured.

Offered tools, it calls each once (one per round, in the order offered), with arguments built from the
tool's schema: a property named like a fact of the conversation (a field of the input, or of an earlier
tool's answer) takes that fact, the others a generated value. Then it answers with JSON built from the
output model's JSON schema: a field named like a fact takes it; text reads as text (the field's name, what
the input is about, the input's other facts and what the tools answered: ``Summary for order id
ORD-101200: reason Wrong size; lookup: status placed, amount 1200.0``); numbers sit inside their bounds,
enums and unions pick deterministically from a hash of the conversation, lists have their minimum length
(at least one item when allowed), nested models and ``$ref``s are followed (recursion stops at the first
optional or empty-able level past a few), and string patterns are satisfied by generating a match from
the regular expression. The same conversation always gives the same answer, in every process (no
``hash()`` randomisation), so workflows run end to end, and repeatably, on a laptop without keys.

It announces itself once per process, at WARNING, so nobody mistakes its answers for a model's.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
import string
import threading
import uuid
from typing import Any

from pydantic import BaseModel

from engine.agents.offline_facts import Facts, humanized
from engine.agents.providers import HOW_TO_CONFIGURE

log = logging.getLogger("engine.agents")

# Past this many nested $refs, optional parts are left out so recursive models terminate.
_SHALLOW_DEPTH = 3
_MAX_DEPTH = 24
# Tools called one per round up to this many; any left over are called together in the next round, so the
# rounds stay within an agent's default max_tool_rounds (8).
_ONE_BY_ONE = 6


class OfflineSchemaError(ValueError):
    """The schema asks for something the offline model cannot build (e.g. endless required recursion)."""


class OfflineModel:
    """Deterministic schema-valid answers; one instance per process is enough (see ``offline_model()``)."""

    name = "offline"

    def __init__(self) -> None:
        self._announced = False
        self._lock = threading.Lock()

    def announce(self) -> None:
        """Log, once for this instance, that the offline model answers, and how to get a real one."""
        with self._lock:
            if self._announced:
                return
            self._announced = True
        log.warning(
            "Agents are using the OFFLINE model: it calls each offered tool once, then answers "
            "deterministically from each output model's schema and what the input and the tools said; no "
            "LLM is called. To use a real model, %s.",
            HOW_TO_CONFIGURE,
        )

    def answer(self, output_type: type[BaseModel], prompt: str, facts: Facts | None = None) -> str:
        """The JSON text answering ``prompt`` with an instance of ``output_type`` (using ``facts``)."""
        self.announce()
        schema = _schema_of(output_type)
        seed = hashlib.sha256(prompt.encode()).hexdigest()
        return json.dumps(_Generator(schema, seed, facts).value(schema, output_type.__name__, "$", 0))

    def reply(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], output_type: type[BaseModel]
    ) -> dict[str, Any]:
        """The assistant's turn in this conversation: calls of the offered tools not called yet (one per
        round, the rest together past ``_ONE_BY_ONE``), then the answer. ``{"content", "tool_calls"}``."""
        self.announce()
        prompt = json.dumps(messages, sort_keys=True)
        seed = hashlib.sha256(prompt.encode()).hexdigest()
        facts = Facts.of(messages)
        called = {
            call.get("function", {}).get("name")
            for message in messages
            if message.get("role") == "assistant"
            for call in message.get("tool_calls") or []
        }
        rounds = sum(1 for m in messages if m.get("role") == "assistant" and m.get("tool_calls"))
        left = [t["function"] for t in tools if t.get("function", {}).get("name") not in called]
        if left:
            batch = left[:1] if rounds < _ONE_BY_ONE else left
            calls = []
            for n, function in enumerate(batch):
                schema = function.get("parameters") or {"type": "object", "properties": {}}
                arguments = _Generator(schema, f"{seed}:{function['name']}", facts).value(
                    schema, function["name"], "$", 0
                )
                calls.append(
                    {
                        "id": f"call_{seed[:12]}_{n}",
                        "name": function["name"],
                        "arguments": json.dumps(arguments),
                    }
                )
            return {"content": None, "tool_calls": calls, "finish_reason": "tool_calls"}
        return {"content": self.answer(output_type, prompt, facts), "tool_calls": [], "finish_reason": "stop"}


@functools.lru_cache(maxsize=256)
def _schema_of(output_type: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema, built once (the generator only reads it)."""
    return output_type.model_json_schema()


_shared = OfflineModel()


def offline_model() -> OfflineModel:
    """The process-wide offline model (so its notice is logged once)."""
    return _shared


class _Generator:
    def __init__(self, root: dict[str, Any], seed: str, facts: Facts | None = None) -> None:
        self.root = root
        self.seed = seed
        self.facts = facts or Facts()

    def digest(self, path: str) -> str:
        return hashlib.sha256(f"{self.seed}:{path}".encode()).hexdigest()

    def number(self, path: str) -> int:
        return int(self.digest(path)[:12], 16)

    def value(self, schema: dict[str, Any], name: str, path: str, depth: int) -> Any:
        """A value ``schema`` accepts, the same for the same path (``name``: the field's, for text)."""
        if depth > _MAX_DEPTH:
            raise OfflineSchemaError(f"{path}: the schema recurses without an optional or empty-able level")
        if "$ref" in schema:
            target = self.resolve(schema["$ref"])
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return self.value(merged, name, path, depth + 1)
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = {**part, **merged}
            return self.value(merged, name, path, depth)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            choices = schema["enum"]
            return choices[self.number(path) % len(choices)]
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants:
            return self.union(variants, name, path, depth)
        return self.typed(schema, name, path, depth)

    def typed(self, schema: dict[str, Any], name: str, path: str, depth: int) -> Any:
        """A value of the schema's ``type`` (the first one not null, when it lists several)."""
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            if not kinds or (depth > _SHALLOW_DEPTH and "null" in kind):
                return None
            kind = kinds[0]
        if kind == "object" or "properties" in schema:
            return self.object(schema, path, depth)
        if kind == "array":
            return self.array(schema, name, path, depth)
        if kind == "integer":
            return self.integer(schema, path)
        if kind == "number":
            return self.float(schema, path)
        if kind == "boolean":
            return self.number(path) % 2 == 0
        if kind == "null":
            return None
        return self.string(schema, name, path, depth)

    def fits(self, schema: dict[str, Any], value: Any) -> bool:
        """Whether a fact is a value ``schema`` takes (scalars only: the facts are scalars)."""
        if "$ref" in schema:
            return self.fits(
                {**self.resolve(schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}}, value
            )
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants:
            return any(self.fits(v, value) for v in variants)
        if "enum" in schema:
            return value in schema["enum"]
        if "const" in schema:
            return bool(value == schema["const"])
        kind = schema.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if isinstance(value, bool):
            return "boolean" in kinds
        if isinstance(value, int) and ("integer" in kinds or "number" in kinds):
            return _within(schema, value)
        if isinstance(value, float) and "number" in kinds:
            return _within(schema, value)
        if isinstance(value, str) and "string" in kinds and "format" not in schema:
            pattern = schema.get("pattern")
            long_enough = schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value))
            return long_enough and (pattern is None or re.search(pattern, value) is not None)
        return False

    def resolve(self, ref: str) -> dict[str, Any]:
        prefix = "#/$defs/"
        if not ref.startswith(prefix):
            raise OfflineSchemaError(f"unsupported reference {ref!r}")
        return self.root["$defs"][ref[len(prefix) :]]

    def union(self, variants: list[dict[str, Any]], name: str, path: str, depth: int) -> Any:
        concrete = [v for v in variants if v.get("type") != "null"]
        if not concrete or (len(concrete) < len(variants) and depth > _SHALLOW_DEPTH):
            return None
        # The first concrete variant: for Optional[X] that is X, for X | Y the declared favourite.
        return self.value(concrete[0], name, path, depth)

    def object(self, schema: dict[str, Any], path: str, depth: int) -> dict[str, Any]:
        out = {}
        for key, sub in schema.get("properties", {}).items():
            fact = self.facts.value(key)
            out[key] = (
                fact
                if fact is not None and self.fits(sub, fact)
                else self.value(sub, key, f"{path}.{key}", depth)
            )
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and not out and depth <= _SHALLOW_DEPTH:
            key = f"key_{self.digest(path)[:6]}"
            out[key] = self.value(extra, key, f"{path}.{key}", depth)
        return out

    def array(self, schema: dict[str, Any], name: str, path: str, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems")
        if prefix is not None:
            return [self.value(sub, name, f"{path}[{i}]", depth) for i, sub in enumerate(prefix)]
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", max(low, 1))
        count = low if depth > _SHALLOW_DEPTH else min(max(low, 1), high)
        item = schema.get("items", {})
        items: list[Any] = []
        attempt = 0
        while len(items) < count:
            candidate = self.value(item, name, f"{path}[{attempt}]", depth)
            attempt += 1
            if schema.get("uniqueItems") and candidate in items:
                if attempt > count + 64:
                    raise OfflineSchemaError(f"{path}: cannot find {count} distinct items")
                continue
            items.append(candidate)
        return items

    def integer(self, schema: dict[str, Any], path: str) -> int:
        low = _int_bound(schema, "minimum", "exclusiveMinimum", up=True)
        high = _int_bound(schema, "maximum", "exclusiveMaximum", up=False)
        spread = self.number(path)
        if low is not None and high is not None:
            value = low + spread % (high - low + 1)
        elif low is not None:
            value = low + spread % 10
        elif high is not None:
            value = high - spread % 10
        else:
            value = spread % 100
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            value = math.ceil(value / step) * step
            if high is not None and value > high:
                value -= step
        return value

    def float(self, schema: dict[str, Any], path: str) -> float:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        fraction = 0.1 + (self.number(path) % 81) / 100  # in [0.1, 0.9]: strictly inside open bounds
        if low is not None and high is not None:
            value = low + (high - low) * fraction
        elif low is not None:
            value = low + 1 + fraction * 10
        elif high is not None:
            value = high - 1 - fraction * 10
        else:
            value = fraction * 100
        step = schema.get("multipleOf")
        if step:
            value = _multiple_within(value, float(step), schema)
        return round(value, 6) if not step else value

    def string(self, schema: dict[str, Any], name: str, path: str, depth: int) -> str:
        digest = self.digest(path)
        inner = schema.get("contentSchema")
        if schema.get("contentMediaType") == "application/json":
            return json.dumps(self.value(inner or {}, name, path + "#json", depth))
        slug = _slug(name)
        fmt = schema.get("format")
        by_format = _formatted(fmt, slug, digest)
        if by_format is not None:
            return by_format
        pattern = schema.get("pattern")
        if pattern:
            matched = _matching(pattern)
            if matched is not None:
                return matched
        text = self.prose(name, digest)
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        while len(text) < low:
            text = f"{text} {text}"
        if high is not None and len(text) > high:
            text = _clipped(text, high) if high >= 12 else digest[:high]
        if len(text) < low:  # cut at a word below the minimum: made up with the hash
            text += (digest * (low // len(digest) + 1))[: low - len(text)]
        return text

    def prose(self, name: str, digest: str) -> str:
        """Text that reads as text: what the field is, what the conversation is about, what tools said."""
        facts = self.facts
        label = humanized(name)
        head = f"{label} for {facts.subject}" if facts.subject else f"{label} (offline draft {digest[:6]})"
        details = facts.details().rstrip(". ")
        return f"{head}: {details}." if details else f"{head}."


def _within(schema: dict[str, Any], value: float) -> bool:
    return (
        value >= schema.get("minimum", -math.inf)
        and value > schema.get("exclusiveMinimum", -math.inf)
        and value <= schema.get("maximum", math.inf)
        and value < schema.get("exclusiveMaximum", math.inf)
    )


def _clipped(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, at a word boundary when one is near, ending cleanly."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rstrip()
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space].rstrip(" ,;:")
    return cut + "…"


def _int_bound(schema: dict[str, Any], inclusive: str, exclusive: str, *, up: bool) -> int | None:
    if inclusive in schema:
        value = schema[inclusive]
        return math.ceil(value) if up else math.floor(value)
    if exclusive in schema:
        value = schema[exclusive]
        return math.floor(value) + 1 if up else math.ceil(value) - 1
    return None


def _multiple_within(value: float, step: float, schema: dict[str, Any]) -> float:
    # Pick the multiple of ``step`` nearest ``value`` that respects the bounds; pydantic checks
    # multiple_of with a tolerance, so k * step (not a rounded decimal) is what must be sent.
    def fits(v: float) -> bool:
        return (
            v >= schema.get("minimum", -math.inf)
            and v > schema.get("exclusiveMinimum", -math.inf)
            and v <= schema.get("maximum", math.inf)
            and v < schema.get("exclusiveMaximum", math.inf)
        )

    k = round(value / step)
    for candidate in (k, k + 1, k - 1, k + 2, k - 2):
        if fits(candidate * step):
            return candidate * step
    return value


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return slug or "value"


def _formatted(fmt: Any, slug: str, digest: str) -> str | None:
    day = int(digest[:2], 16) % 28 + 1
    hour = int(digest[2:4], 16) % 24
    formats = {
        "date-time": f"2024-01-{day:02d}T{hour:02d}:00:00Z",
        "date": f"2024-01-{day:02d}",
        "time": f"{hour:02d}:00:00",
        "duration": f"PT{hour + 1}H",
        "email": f"{slug.replace('_', '.')}.{digest[:6]}@example.com",
        "uri": f"https://example.com/{slug}/{digest[:6]}",
        "hostname": f"{slug.replace('_', '-')}-{digest[:6]}.example.com",
        "ipv4": f"192.0.2.{int(digest[:2], 16) % 254 + 1}",
        "ipv6": f"2001:db8::{digest[:4]}",
        "uuid": str(uuid.UUID(hex=digest[:32])),
    }
    return formats.get(fmt) if isinstance(fmt, str) else None


# Regular-expression generation walks the stdlib's parse tree (re._parser, the engine behind re.compile).
# It is an internal module, so any surprise from it means "no match generated" rather than a crash.
def _matching(pattern: str) -> str | None:
    try:
        from re import _constants as c
        from re import _parser as parser

        tree = parser.parse(pattern)
        groups: dict[int, str] = {}
        text = _emit(tree, c, groups)
    except Exception:
        return None
    return text if re.search(pattern, text) else None


_CANDIDATES = "a0A_-. " + string.ascii_letters + string.digits + string.punctuation


def _emit(tree: Any, c: Any, groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, arg in tree:
        if op is c.LITERAL:
            out.append(chr(arg))
        elif op is c.NOT_LITERAL:
            out.append("a" if chr(arg) != "a" else "b")
        elif op is c.ANY:
            out.append("a")
        elif op is c.IN:
            out.append(_pick(arg, c))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = arg
            out.append("".join(_emit(sub, c, groups) for _ in range(low)))
        elif op is c.SUBPATTERN:
            group, _add, _remove, sub = arg
            text = _emit(sub, c, groups)
            if group is not None:
                groups[group] = text
            out.append(text)
        elif op is c.ATOMIC_GROUP:
            out.append(_emit(arg, c, groups))
        elif op is c.BRANCH:
            out.append(_emit(arg[1][0], c, groups))
        elif op is c.GROUPREF:
            out.append(groups.get(arg, ""))
        elif op is c.CATEGORY:
            out.append(_pick([(c.CATEGORY, arg)], c))
        elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            continue
        else:
            raise ValueError(f"unsupported regular expression construct {op}")
    return "".join(out)


def _pick(items: list[tuple[Any, Any]], c: Any) -> str:
    negated = bool(items) and items[0][0] is c.NEGATE
    members = items[1:] if negated else items
    if not negated and members:
        op, arg = members[0]
        if op is c.LITERAL:
            return chr(arg)
        if op is c.RANGE:
            return chr(arg[0])
    for ch in _CANDIDATES:
        if _member(ch, members, c) != negated:
            return ch
    raise ValueError("no candidate character fits the set")


def _member(ch: str, items: list[tuple[Any, Any]], c: Any) -> bool:
    for op, arg in items:
        if op is c.LITERAL and ch == chr(arg):
            return True
        if op is c.RANGE and arg[0] <= ord(ch) <= arg[1]:
            return True
        if op is c.CATEGORY and _in_category(ch, arg, c):
            return True
    return False


def _in_category(ch: str, category: Any, c: Any) -> bool:
    tests = {
        c.CATEGORY_DIGIT: ch.isdigit(),
        c.CATEGORY_NOT_DIGIT: not ch.isdigit(),
        c.CATEGORY_SPACE: ch.isspace(),
        c.CATEGORY_NOT_SPACE: not ch.isspace(),
        c.CATEGORY_WORD: ch.isalnum() or ch == "_",
        c.CATEGORY_NOT_WORD: not (ch.isalnum() or ch == "_"),
    }
    return tests.get(category, False)
