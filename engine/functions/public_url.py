"""Where the app is reached from outside, and whether a request comes from there.

Links (run views, respond links, check-status links) are built from configuration, never from the
request's Host header, which any caller can set: ``WORKFLOW_PUBLIC_BASE_URL`` when set (a custom domain,
a gateway), else the platform's ``WEBSITE_HOSTNAME`` (Azure sets it; devhost sets it to its own
``localhost:<port>``), else - on a host that sets neither - the request's own origin.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import azure.functions as func

PUBLIC_BASE_URL = "WORKFLOW_PUBLIC_BASE_URL"
HOSTNAME = "WEBSITE_HOSTNAME"
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def public_origin(req: func.HttpRequest) -> str:
    """``scheme://host[:port]`` that links name."""
    configured = os.environ.get(PUBLIC_BASE_URL, "").strip().rstrip("/")
    if configured:
        return _origin_of(configured)
    host = os.environ.get(HOSTNAME, "").strip()
    if host:
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        return f"{'http' if name in LOOPBACK else 'https'}://{host}".lower()
    return _origin_of(req.url)


def rebased(url: str, origin: str) -> str:
    """``url`` with its scheme and host replaced by ``origin`` (path and query kept)."""
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    return origin + tail


def is_cross_origin(req: func.HttpRequest) -> bool:
    """A browser's request from another site: its ``Origin`` is neither this app's public origin nor
    the origin it addressed. Requests without ``Origin`` (curl, servers) are not browsers' cross-site
    requests."""
    origin = (req.headers.get("origin") or "").strip().rstrip("/").lower()
    if not origin:
        return False
    return origin not in (public_origin(req), _origin_of(req.url))
