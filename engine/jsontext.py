"""JSON that arrives as text: the SDK client double-encodes inputs and event data; raw bodies do not."""

from __future__ import annotations

import json
from typing import Any


def decoded(value: Any) -> Any:
    """``value`` parsed when it is JSON text, as it is otherwise (a plain string stays a string)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
