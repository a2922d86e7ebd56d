"""Query parameters read strictly (a 400 naming the parameter), and the URLs the API builds from a request."""

from __future__ import annotations

import azure.functions as func

from engine.functions.http_json import HttpError
from engine.functions.public_url import public_origin, rebased


def int_param(req: func.HttpRequest, name: str, *, default: int, low: int, high: int) -> int:
    """A whole number between ``low`` and ``high``; ``default`` when absent."""
    raw = req.params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HttpError(400, f"{name} must be a whole number", field=name) from None
    if not low <= value <= high:
        raise HttpError(400, f"{name} must be between {low} and {high}", field=name)
    return value


def choice(req: func.HttpRequest, name: str, allowed: tuple[str, ...]) -> str:
    """A query parameter with a fixed set of values; the first is the default."""
    raw = req.params.get(name) or allowed[0]
    if raw not in allowed:
        raise HttpError(400, f"{name} must be one of {', '.join(allowed)}", field=name, allowed=list(allowed))
    return raw


def without_key(url: str) -> str:
    """A management URL without the host's system key (``code=``): only operators should hold that."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    kept = [p for p in query.split("&") if not p.lower().startswith("code=")]
    return f"{base}?{'&'.join(kept)}" if kept else base


def api_base(req: func.HttpRequest, prefix: str) -> str:
    """``scheme://host/api`` of the app's public origin, with the host's route prefix this request
    came through (so links work under any route prefix)."""
    url = rebased(req.url, public_origin(req)).split("?", 1)[0].rstrip("/")
    for tail in ("/openapi.json", "/runs"):
        if url.endswith(tail) and f"/{prefix}/" not in url:
            return url[: -len(tail)]
    head, sep, _ = url.partition(f"/{prefix}")
    return head if sep else url.rsplit("/", 1)[0]


__all__ = ["api_base", "choice", "int_param", "without_key"]
