"""Reading app settings: Functions app settings arrive as environment variables, as text."""

from __future__ import annotations

import os


def flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")


def byte_size(name: str, default: int) -> int:
    """A positive whole number of bytes; a clear error names the setting when it is not one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"app setting {name} must be a whole number of bytes, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"app setting {name} must be positive, got {value}")
    return value
