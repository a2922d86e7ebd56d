"""JSON that arrives as text: the SDK client double-encodes inputs and event data; raw bodies do not."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def decoded(value: Any) -> Any:
    """``value`` parsed when it is JSON text, as it is otherwise (a plain string stays a string)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def validated(model: type[M], payload: Any) -> M:
    """An activity's payload as ``model``: JSON text (parsed by pydantic) or already decoded by the host.
    Raises pydantic's ``ValidationError`` when it is not one."""
    if isinstance(payload, str | bytes):
        return model.model_validate_json(payload)
    return model.model_validate(payload)


def unwrapped(value: Any) -> Any:
    """JSON text, possibly encoded twice (the SDK client does), as the value it encodes."""
    while isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def iso_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp from JSON (``Z`` or an offset; naive means UTC), or None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def after_mark(text: Any, mark: str) -> Any:
    """The JSON value that follows ``mark`` in ``text`` (a value carried in a failure's message, which a
    host wraps in words of its own), or None when there is none."""
    if not isinstance(text, str):
        return None
    at = text.find(mark)
    if at < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, at + len(mark))
    except ValueError:
        return None
    return value
