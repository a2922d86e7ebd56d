"""What every command shares: the one-line error, JSON arguments, and words counted right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

EXIT_USAGE = 2


class CliError(Exception):
    """A one-line error for the terminal; exit code 2."""


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 run``, ``2 runs``; ``words`` for an irregular plural (``entry`` -> ``entries``)."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def first_error(exc: ValidationError) -> str:
    """The first wrong field of a validation error, and how many more there are."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "(input)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"field {where!r}: {err['msg']}{more}"


def read_json_argument(value: str, what: str) -> Any:
    """An argument's JSON: the text itself, or ``@file.json``'s content."""
    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {what} file {path}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


__all__ = ["EXIT_USAGE", "CliError", "first_error", "plural", "read_json_argument"]
