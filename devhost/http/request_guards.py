"""What keeps devhost a host for this machine only, whoever else can reach its port.

- **Host header.** devhost answers only requests addressed to a loopback name (``localhost``, ``127.0.0.1``,
  ``[::1]``, with or without a port). A page on another site that re-points its own DNS name at
  127.0.0.1 (DNS rebinding) sends its own name as Host, and gets a JSON 421 naming it.
- **Origin.** A browser sends cross-site POSTs without a preflight when they look like a form (a
  ``text/plain`` body, say). The management webhooks change state, so devhost refuses their
  POST/PUT/PATCH/DELETE requests that carry an ``Origin`` other than devhost's own (403). The app's own
  HTTP functions check what they want themselves, as on Azure.
- **The URL an app sees.** The app builds links from its request's URL (the SDK's check-status response
  does), so devhost hands it the loopback name the caller used (a page at ``localhost`` keeps its origin)
  with devhost's own port, never a port or name the Host header made up.
- **Easy Auth headers.** App Service authentication strips client-sent ``x-ms-client-principal*``
  (and ``x-ms-token-*``) headers and sets its own; without it, nobody vouches for them. devhost strips
  them before calling a function unless Easy Auth is simulated (``DEVHOST_SIMULATE_EASY_AUTH``).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Set by App Service authentication, and only by it when it is on (client-sent ones are removed).
EASY_AUTH_HEADER_PREFIXES = ("x-ms-client-principal", "x-ms-token-")


def _shown(value: str) -> str:
    return value if len(value) <= 200 else value[:200] + "..."


def host_name(value: str) -> str | None:
    """The name part of a Host header value, lower-cased; None when the value is not ``name[:port]``."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
    else:
        name, colon, port = value.partition(":")
        rest = colon + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6):
        return None
    return name


def is_loopback_host(value: str | None) -> bool:
    """A request without a Host header (HTTP/1.0) is not a browser's: it passes."""
    return value is None or host_name(value) in LOOPBACK_NAMES


def wrong_host(request: web.Request) -> web.Response | None:
    """The JSON 421 for a request addressed to a name other than this machine's, else None."""
    value = request.headers.get("Host")
    if is_loopback_host(value):
        return None
    message = (
        f"devhost answers requests for this machine only: the Host header '{_shown(value or '')}' is not "
        f"localhost, 127.0.0.1 or [::1] (a page of another site reaching devhost through DNS rebinding "
        "sends its own name)."
    )
    # `error` as the app's API answers, `Message` as the durable management API does.
    return web.json_response({"error": message, "Message": message}, status=421)


def local_port(request: web.Request) -> int | None:
    """The port the request came in on."""
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    return sockname[1] if isinstance(sockname, tuple) and len(sockname) >= 2 else None


def own_origins(request: web.Request) -> set[str]:
    """devhost's own origins: a loopback name and the port the request came in on."""
    port = local_port(request)
    if port is None:
        return set()
    return {f"http://{name}:{port}" for name in LOOPBACK_NAMES}


def url_for_app(request: web.Request) -> str:
    """The request's URL as the app sees it: the loopback name the caller used (127.0.0.1 without a Host
    header), devhost's own port."""
    name = host_name(request.headers.get("Host") or "")
    url = request.url.with_host((name if name in LOOPBACK_NAMES else "127.0.0.1").strip("[]"))
    port = local_port(request)
    return str(url.with_port(port) if port is not None else url)


def foreign_origin(request: web.Request) -> str | None:
    """The Origin header of a request from a page of another origin (``null`` included), else None."""
    origin = request.headers.get("Origin")
    if origin is None or origin.strip().lower().rstrip("/") in own_origins(request):
        return None
    return origin


def cross_origin_refusal(request: web.Request) -> web.Response | None:
    """403 for a state-changing management request sent by a page of another origin, else None."""
    if request.method.upper() not in STATE_CHANGING:
        return None
    origin = foreign_origin(request)
    if origin is None:
        return None
    message = (
        f"Cross-origin {request.method.upper()} refused: the Origin '{_shown(origin)}' is not devhost's own. "
        "The durable management API changes state; call it from a script or from devhost's own pages."
    )
    return web.json_response({"Message": message, "error": message}, status=403)


def without_easy_auth_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The request headers without the ones only App Service authentication may set."""
    return {k: v for k, v in headers.items() if not k.lower().startswith(EASY_AUTH_HEADER_PREFIXES)}
