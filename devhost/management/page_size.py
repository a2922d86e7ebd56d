"""The page size of a list the host answers in pages (instances, entities): ``?top=``, as the extension
reads it (a positive integer; otherwise the default)."""

from __future__ import annotations

from collections.abc import Mapping


def page_top(query: Mapping[str, str], default: int | None) -> int | None:
    """``?top=`` or ``default``; a ValueError (the API's 400) when it is not a positive integer."""
    if not query.get("top"):
        return default
    try:
        top = int(query["top"])
    except ValueError:
        raise ValueError("top must be an integer.") from None
    if top < 1:
        raise ValueError("top must be at least 1.")
    return top
