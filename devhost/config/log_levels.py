"""host.json ``logging.logLevel``: the lowest level shown per log category, as the Functions host filters
its logs (Microsoft.Extensions.Logging: the longest configured prefix of a category wins, ``default``
for the rest; Information when nothing is configured)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.config.errors import DevHostError

# .NET LogLevel names and the Python levels they correspond to (None: nothing is shown).
LEVELS: dict[str, int] = {
    "trace": logging.DEBUG - 5,
    "debug": logging.DEBUG,
    "information": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "none": logging.CRITICAL + 10,
}
DEFAULT_LEVEL = logging.INFO


def level_name(levelno: int) -> str:
    """A Python record's level as the host names it."""
    if levelno >= logging.CRITICAL:
        return "Critical"
    if levelno >= logging.ERROR:
        return "Error"
    if levelno >= logging.WARNING:
        return "Warning"
    if levelno >= logging.INFO:
        return "Information"
    if levelno >= logging.DEBUG:
        return "Debug"
    return "Trace"


@dataclass(frozen=True)
class LogLevels:
    """Category prefix (lower case) -> minimum level; "default" for every other category."""

    levels: dict[str, int] = field(default_factory=dict)
    # Category -> its minimum, as worked out once: every invocation asks for its function's category
    # twice, and the rules never change after host.json is read. Categories are function names and a
    # few of the host's own, so this stays small.
    _known: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def minimum(self, category: str) -> int:
        """The lowest level shown for a category: its longest configured prefix's, else the default."""
        known = self._known.get(category)
        if known is None:
            known = self._known[category] = self._rule_for(category)
        return known

    def _rule_for(self, category: str) -> int:
        parts = category.lower().split(".")
        for n in range(len(parts), 0, -1):
            found = self.levels.get(".".join(parts[:n]))
            if found is not None:
                return found
        return self.levels.get("default", DEFAULT_LEVEL)

    def allows(self, category: str, levelno: int) -> bool:
        """Whether a record of this level in this category is shown."""
        return levelno >= self.minimum(category)


def parse_log_levels(logging_section: Any, path: Path) -> LogLevels:
    """host.json's ``logging`` object (None: absent) -> LogLevels; a wrong level name is an error, as the
    host refuses to start with one."""
    if logging_section is None:
        return LogLevels()
    if not isinstance(logging_section, dict):
        raise DevHostError(f"{path}: 'logging' must be an object")
    raw = logging_section.get("logLevel") or {}
    if not isinstance(raw, dict):
        raise DevHostError(f"{path}: logging.logLevel must be an object")
    levels: dict[str, int] = {}
    for category, name in raw.items():
        level = LEVELS.get(str(name).strip().lower()) if isinstance(name, str) else None
        if level is None:
            names = ", ".join(n.capitalize() for n in LEVELS)
            raise DevHostError(f"{path}: logging.logLevel.{category} must be one of {names}, got {name!r}")
        levels[str(category).lower()] = level
    return LogLevels(levels)
