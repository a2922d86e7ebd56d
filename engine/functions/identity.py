"""Who is calling, as far as we can verify: ``verified_caller(headers)``.

Two sources vouch for a caller, and nothing else does:

- **Entra ID bearer tokens** (``Authorization: Bearer <JWT>``), when ``ENTRA_OPENID_CONFIGURATION_URL``
  or ``ENTRA_JWKS_URL`` is set: the token is validated by ``engine.functions.entra`` (RS256 signature
  against the tenant's keys, issuer, audience, expiry, not-before). A token that fails is a 401
  ``IdentityError``, never an anonymous caller; keys that cannot be fetched are a 503. When bearer
  validation is off an ``Authorization`` header is not looked at (it vouches for nothing).
- **App Service authentication (Easy Auth)**: the ``x-ms-client-principal`` header is believed only when
  the app says so (``WORKFLOW_TRUST_EASY_AUTH=true``) AND the platform says authentication is on
  (``WEBSITE_AUTH_ENABLED=true``): only then does the platform strip that header from what clients send.
  With the app setting alone the header is ignored and a warning is logged once.

A bearer token, when present and validation is on, decides: Easy Auth is not consulted. Otherwise the
trusted principal, otherwise an anonymous caller (name None, no roles).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from engine.functions.entra import BearerRefused, KeysUnavailable, validator_for
from engine.functions.http_json import HttpError, json_response
from engine.functions.settings import (
    PLATFORM_AUTH_ENABLED,
    TRUST_EASY_AUTH,
    EntraSettings,
    easy_auth_settings,
    entra_settings,
)

log = logging.getLogger("engine.identity")

PRINCIPAL_HEADER = "x-ms-client-principal"
AUTHORIZATION_HEADER = "authorization"

ROLE_CLAIMS = ("roles", "role", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
NAME_CLAIMS = ("name", "preferred_username", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")
# Entra access-token claims that name a user, the first present wins: preferred_username (the sign-in
# name, v2 tokens), upn (v1 tokens), then name (the display name; not unique, a last resort).
ENTRA_NAME_CLAIMS = ("preferred_username", "upn", "name")
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls: a name and the roles a verified source vouches for.

    ``source`` says which: "entra" (a validated bearer token), "easy-auth" (the trusted platform
    principal), "anonymous" (nobody vouches: name None, no roles) or "approval-link" (``approver``: the
    subject of a signed approval link, when nobody vouches for the caller).
    """

    name: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    source: str = "anonymous"

    def is_one_of(self, approvers: list[str]) -> bool:
        """Approvers name users or roles; any match lets the caller answer."""
        allowed = set(approvers)
        return (self.name is not None and self.name in allowed) or bool(self.roles & allowed)


ANONYMOUS = Caller(name=None)


class IdentityError(HttpError):
    """The caller presented credentials we refuse (401), or we cannot check them now (503), or bearer
    validation is configured wrongly (500). An ``HttpError``, so the app's handler answers it as JSON:
    ``{"error": message, "reason": code}`` with ``WWW-Authenticate`` (401) or ``Retry-After`` (503)."""

    def __init__(self, status: int, message: str, *, reason: str) -> None:
        super().__init__(status, message, reason=reason)
        self.reason = reason

    def response(self) -> func.HttpResponse:
        """The error as JSON: a 401 with its ``WWW-Authenticate`` challenge, a 503 with ``Retry-After``."""
        headers: dict[str, str] = {}
        if self.status == 401:
            description = self.message.replace("\\", "").replace('"', "'")
            headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{description}"'
        elif self.status == 503:
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return json_response({"error": self.message, **self.details}, status=self.status, headers=headers)


def verified_caller(headers: Mapping[str, str]) -> Caller:
    """Who is calling, as far as we can verify (see the module docstring for the rules).

    Raises ``IdentityError``: 401 for a bearer token that fails validation, 503 when the tenant's keys
    cannot be fetched, 500 when the ENTRA_ settings are incomplete. Fetching keys is blocking network
    I/O (cached for minutes): from async code call it through ``asyncio.to_thread``.
    """
    authorization = _header(headers, AUTHORIZATION_HEADER)
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    if scheme.lower() == "bearer":
        entra = _entra_or_none()
        if entra is not None:
            return _bearer_caller(entra, credentials.strip())
    easy_auth = easy_auth_settings()
    header = _header(headers, PRINCIPAL_HEADER)
    if not easy_auth.trusted:
        if easy_auth.trust:
            _warn_once(
                "trust-without-platform",
                "%s=true but %s is not true: App Service authentication is not on, so clients can forge "
                "the %s header; it is ignored and callers are anonymous unless they bring a bearer token",
                TRUST_EASY_AUTH,
                PLATFORM_AUTH_ENABLED,
                PRINCIPAL_HEADER,
            )
        elif header and easy_auth.platform_enabled:
            _warn_once(
                "platform-without-trust",
                "App Service authentication is on but %s is not true: the %s header is ignored",
                TRUST_EASY_AUTH,
                PRINCIPAL_HEADER,
            )
        return ANONYMOUS
    data = principal(header)
    if data is None:
        return ANONYMOUS
    name = _principal_name(data)
    roles = _principal_roles(data)
    if name is None and not roles:
        return ANONYMOUS
    return Caller(name=name, roles=roles, source="easy-auth")


def verified_viewer(headers: Mapping[str, str]) -> Caller:
    """Who is viewing a run (whose name respond links are issued to): the same verified caller.

    A bad bearer token on a GET is a 401 too, so a viewer never silently loses their identity."""
    return verified_caller(headers)


def approver(headers: Mapping[str, str], link_subject: str | None) -> Caller:
    """Who answers an approval: the verified caller; when nobody vouches for the caller (anonymous), the
    subject of the approval link's signed token (``approval_tokens.verify`` checks it before this is
    called: a link issued to a verified viewer), with no roles."""
    return with_link(verified_caller(headers), link_subject)


def with_link(caller: Caller, link_subject: str | None) -> Caller:
    """``caller``, or - when nobody vouches for them - the person a verified respond link names."""
    if caller.source == "anonymous" and link_subject:
        return Caller(name=link_subject, source="approval-link")
    return caller


def check_identity_settings() -> None:
    """Say at start-up what request-time checks would otherwise say on first use: an incomplete ENTRA_
    configuration (ERROR) and Easy Auth trusted by the app while the platform has it off (WARNING)."""
    try:
        _ = entra_settings()
    except ValueError as exc:
        log.error("%s: bearer tokens will be refused with 500 until this is fixed", exc)
    easy_auth = easy_auth_settings()
    if easy_auth.trust and not easy_auth.platform_enabled:
        _warn_once(
            "trust-without-platform",
            "%s=true but %s is not true: the %s header will be ignored",
            TRUST_EASY_AUTH,
            PLATFORM_AUTH_ENABLED,
            PRINCIPAL_HEADER,
        )


def _entra_or_none() -> EntraSettings | None:
    try:
        return entra_settings()
    except ValueError as exc:
        raise IdentityError(500, f"bearer tokens cannot be checked: {exc}", reason="misconfigured") from exc


def _bearer_caller(entra: EntraSettings, token: str) -> Caller:
    if not token:
        raise IdentityError(401, "the Authorization header has an empty bearer token", reason="malformed")
    try:
        claims = validator_for(entra).claims(token)
    except BearerRefused as exc:
        raise IdentityError(401, exc.message, reason=exc.reason) from exc
    except KeysUnavailable as exc:
        log.warning("Entra ID bearer token not checked: %s", exc)
        raise IdentityError(503, str(exc), reason="keys_unavailable") from exc
    return Caller(name=_entra_name(claims), roles=_entra_roles(claims), source="entra")


def _entra_name(claims: Mapping[str, Any]) -> str | None:
    for claim in ENTRA_NAME_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value
    return None  # an application's own token (client credentials): roles only


def _entra_roles(claims: Mapping[str, Any]) -> frozenset[str]:
    """App roles (``roles``), which tenant admins assign to users, groups and applications. ``groups`` is
    not read: it holds object ids, is cut off past 200 groups (overage), and assigning a group to an
    app role puts that role in ``roles`` anyway."""
    roles = claims.get("roles")
    if isinstance(roles, str):
        return frozenset({roles})
    if isinstance(roles, list):
        return frozenset(r for r in roles if isinstance(r, str))
    return frozenset()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by its lowercase name, from a case-insensitive mapping or a plain dict."""
    value = headers.get(name)
    if value is not None:
        return value
    return next((v for k, v in headers.items() if k.lower() == name), None)


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(key: str, message: str, *args: Any) -> None:
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message, *args)


def principal(header: str | None) -> dict[str, Any] | None:
    """The decoded ``x-ms-client-principal`` header (base64 JSON), or None when absent or malformed.
    Decoding only: whether to believe it is ``verified_caller``'s decision."""
    if not header:
        return None
    try:
        data = json.loads(base64.b64decode(header, validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _principal_name(data: Mapping[str, Any]) -> str | None:
    if isinstance(data.get("userDetails"), str):
        return data["userDetails"]  # type: ignore[no-any-return]
    name_type = data.get("name_typ")
    for claim in data.get("claims") or []:
        if isinstance(claim, dict) and (claim.get("typ") == name_type or claim.get("typ") in NAME_CLAIMS):
            value = claim.get("val")
            if isinstance(value, str):
                return value
    return None


def _principal_roles(data: Mapping[str, Any]) -> frozenset[str]:
    roles = {r for r in data.get("userRoles") or [] if isinstance(r, str)}
    role_type = data.get("role_typ")
    for claim in data.get("claims") or []:
        if not isinstance(claim, dict):
            continue
        if claim.get("typ") in (role_type, *ROLE_CLAIMS) and isinstance(claim.get("val"), str):
            roles.add(claim["val"])
    return frozenset(roles)
