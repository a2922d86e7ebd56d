"""Reading app settings: Functions app settings arrive as environment variables, as text."""

from __future__ import annotations

import os


def flag(name: str, default: bool) -> bool:
    """An on/off setting: 1, true, yes or on (any case) is on, other text off; unset or empty: ``default``."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")


def byte_size(name: str, default: int) -> int:
    """A positive whole number of bytes; a clear error names the setting when it is not one."""
    return count_setting(name, default, unit="bytes")


def count_setting(name: str, default: int, *, unit: str = "") -> int:
    """A positive whole number; a clear error names the setting when it is not one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        what = f"a whole number of {unit}" if unit else "a whole number"
        raise ValueError(f"app setting {name} must be {what}, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"app setting {name} must be positive, got {value}")
    return value
