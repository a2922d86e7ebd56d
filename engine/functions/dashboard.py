"""The dashboard: a web page (``web/``) served by an HTTP function of the app itself.

``GET /api/dashboard/`` answers the page and ``GET /api/dashboard/{*path}`` its static assets, so the
page works under devhost, ``func start`` and on Azure alike, with nothing fetched from elsewhere. The
page talks to the workflow HTTP API (``engine/functions/app.py``) with ``fetch``.

The page itself is public (auth level ANONYMOUS: it holds no data); the API it calls keeps its own auth
level. On Azure open ``/api/dashboard/?code=<function key>``: the page sends that key with each call.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

import azure.functions as func

from engine.functions.http_json import request_path

WEB_ROOT = Path(__file__).resolve().parents[2] / "web"
ROUTE = "dashboard"
INDEX = "index.html"
CONFIG_MARKER = "<!--config-->"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}

# Everything is same-origin: no CDN, no inline script, no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """A static file of the dashboard, read once: its bytes, its content type and its ETag."""

    body: bytes
    content_type: str
    etag: str


def safe_asset_path(root: Path, requested: str) -> Path | None:
    """The file under ``root`` that ``requested`` names, or None when it is not a servable asset.

    Refuses absolute paths, ``..`` and empty segments, hidden files, backslashes and control characters,
    unknown file types, and anything that resolves (through links) outside ``root``.
    """
    if not requested or len(requested) > 200 or "\\" in requested or any(ord(c) < 32 for c in requested):
        return None
    parts = requested.split("/")
    if requested.startswith("/"):
        return None
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    if PurePosixPath(requested).suffix.lower() not in CONTENT_TYPES:
        return None
    base = root.resolve()
    candidate = (base / Path(*parts)).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate


@lru_cache(maxsize=256)
def _load(path: Path, mtime_ns: int) -> Asset:
    body = path.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(body, CONTENT_TYPES[path.suffix.lower()], etag)


def load_asset(path: Path) -> Asset:
    """The asset at ``path``, read again only when the file has changed."""
    return _load(path, path.stat().st_mtime_ns)


def _not_modified(req: func.HttpRequest, etag: str) -> bool:
    wanted = req.headers.get("if-none-match") or ""
    return etag in [t.strip() for t in wanted.split(",")] or wanted.strip() == "*"


def serve(req: func.HttpRequest, root: Path = WEB_ROOT, api_route: str = "workflows") -> func.HttpResponse:
    """Answer one dashboard request: the page, an asset, a redirect or a 404.

    The page is always answered at ``.../dashboard/`` (``.../dashboard`` redirects there, keeping the
    query), so the page's relative URLs (``style.css``, and ``../`` for the API) resolve the same under
    any host route prefix. ``api_route`` (the workflow API's route, ``workflows``) is written into the page.
    """
    requested = (req.route_params.get("path") or "").strip()
    path = request_path(req)
    if not requested or requested == INDEX:
        if not path.endswith("/") and not requested:
            # Relative asset and API URLs resolve against ".../dashboard/": add the slash, keep the query.
            query = req.url.split("?", 1)[1] if "?" in req.url else ""
            location = path + "/" + (f"?{query}" if query else "")
            return func.HttpResponse(status_code=308, headers={"Location": location, **SECURITY_HEADERS})
        asset = load_asset(root / INDEX)
        config = f'<meta name="workflows-route" content="{html.escape(api_route, quote=True)}">'
        body = asset.body.replace(CONFIG_MARKER.encode(), config.encode(), 1)
        return func.HttpResponse(
            body,
            status_code=200,
            headers={
                "Content-Type": asset.content_type,
                "Cache-Control": "no-store",
                "Content-Security-Policy": CSP,
                **SECURITY_HEADERS,
            },
        )
    file = safe_asset_path(root, requested)
    if file is None:
        # Every error of every route is JSON; the requested path is not echoed (it may be anything).
        return func.HttpResponse(
            json.dumps({"error": "no such dashboard asset", "field": "path"}),
            status_code=404,
            headers={
                "Content-Type": "application/json",
                "Cache-Control": "no-store",
                **SECURITY_HEADERS,
            },
        )
    asset = load_asset(file)
    # No build step, so no fingerprinted names: let browsers keep assets but revalidate (cheap 304s).
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", **SECURITY_HEADERS}
    if _not_modified(req, asset.etag):
        return func.HttpResponse(status_code=304, headers=headers)
    return func.HttpResponse(
        asset.body, status_code=200, headers={"Content-Type": asset.content_type, **headers}
    )
