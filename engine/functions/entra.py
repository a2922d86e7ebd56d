"""Microsoft Entra ID access tokens: ``Authorization: Bearer <JWT>`` checked against the tenant's keys.

A token is accepted only when all of these hold: its header names ``RS256`` and a ``kid``; that key is
in the tenant's published key set (JWKS, fetched over https and cached); the RS256 signature verifies
with it; ``iss`` is one of the accepted issuers; ``aud`` is one of the accepted audiences; ``exp`` is in
the future and ``nbf`` (when present) in the past, both with ``LEEWAY`` of clock skew.

Keys and the OpenID metadata are fetched with PyJWT's ``PyJWKClient`` (the key set is cached for
``JWKS_LIFESPAN``; an unknown ``kid`` forces at most one refetch per ``JWKS_REFRESH_COOLDOWN``, so a
rotated key is picked up but random key ids cannot make us hammer the key server). A failed fetch is a
``KeysUnavailable`` (503 at the HTTP layer) and, for ``FAILURE_COOLDOWN``, answered without another
fetch, so an outage does not tie up every request in a network timeout.

This module knows nothing of callers or HTTP: ``engine.functions.identity`` turns its answers into a
``Caller`` or an ``IdentityError``.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.error import URLError
from urllib.parse import urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from engine.functions.settings import (
    ENTRA_ISSUER,
    ENTRA_JWKS_URL,
    ENTRA_OPENID_CONFIGURATION_URL,
    LOOPBACK_HOSTS,
    EntraSettings,
)

ALGORITHM = "RS256"  # what Entra ID signs access tokens with; nothing else is accepted
LEEWAY = 60  # seconds of clock skew allowed on exp and nbf
FETCH_TIMEOUT = 10.0  # seconds, for the metadata document and the key set
JWKS_LIFESPAN = 300.0  # seconds a fetched key set is used before it is fetched again
JWKS_REFRESH_COOLDOWN = 30.0  # an unknown kid refetches the key set at most this often
METADATA_LIFESPAN = 24 * 3600.0  # seconds the OpenID metadata (jwks_uri, issuer) is kept
FAILURE_COOLDOWN = 5.0  # seconds after a failed fetch during which we answer 503 without fetching
REQUIRED_CLAIMS = ("exp", "iss", "aud")


class BearerRefused(Exception):
    """The token is not one we accept; ``reason`` is a short code for the JSON answer."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class KeysUnavailable(Exception):
    """The tenant's metadata or keys could not be fetched (or were unusable): try again later."""


@dataclass(frozen=True, slots=True)
class _Endpoints:
    jwks_url: str
    issuers: tuple[str, ...]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _fetch_json(url: str) -> Any:
    opener = urllib.request.build_opener(_NoRedirect())
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with opener.open(request, timeout=FETCH_TIMEOUT) as response:
        return json.load(response)


def _acceptable_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parsed = urlparse(url)
    return bool(parsed.hostname) and (
        parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in LOOPBACK_HOSTS)
    )


class EntraValidator:
    """Validates Entra ID access tokens for one configuration; thread-safe, shared per process."""

    def __init__(self, settings: EntraSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._endpoints: _Endpoints | None = None
        self._endpoints_fetched = 0.0
        self._jwks: jwt.PyJWKClient | None = None
        self._failed_until = 0.0

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; ``BearerRefused`` or ``KeysUnavailable`` otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise BearerRefused("malformed", "the bearer token is not a well-formed JWT") from exc
        if header.get("alg") != ALGORITHM:
            raise BearerRefused(
                "unsupported_algorithm",
                f"the bearer token is signed with {header.get('alg')!r}; only {ALGORITHM} is accepted",
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise BearerRefused("malformed", "the bearer token names no signing key (kid)")
        endpoints = self._current_endpoints()
        key = self._signing_key(endpoints, kid)
        try:
            return jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=list(self.settings.audiences),
                issuer=endpoints.issuers,
                leeway=LEEWAY,
                options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
            )
        except jwt.ExpiredSignatureError as exc:
            raise BearerRefused("expired", "the bearer token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise BearerRefused("not_yet_valid", "the bearer token is not valid yet (nbf)") from exc
        except jwt.InvalidAudienceError as exc:
            raise BearerRefused("wrong_audience", "the bearer token was issued for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise BearerRefused("wrong_issuer", "the bearer token was issued by another issuer") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise BearerRefused("missing_claim", f"the bearer token has no {exc.claim!r} claim") from exc
        except jwt.InvalidSignatureError as exc:
            raise BearerRefused("bad_signature", "the bearer token's signature does not verify") from exc
        except jwt.PyJWTError as exc:
            raise BearerRefused(
                "invalid_token", f"the bearer token is not valid ({type(exc).__name__})"
            ) from exc

    def _check_cooldown(self) -> None:
        if time.monotonic() < self._failed_until:
            raise KeysUnavailable(
                "the identity provider's keys could not be fetched a moment ago; try again shortly"
            )

    def _failed(self, message: str) -> KeysUnavailable:
        self._failed_until = time.monotonic() + FAILURE_COOLDOWN
        return KeysUnavailable(message)

    def _current_endpoints(self) -> _Endpoints:
        settings = self.settings
        if settings.openid_configuration_url is None:
            assert settings.jwks_url is not None  # entra_settings() guarantees one of the two
            return _Endpoints(jwks_url=settings.jwks_url, issuers=settings.issuers)
        with self._lock:
            fresh = time.monotonic() - self._endpoints_fetched < METADATA_LIFESPAN
            if self._endpoints is not None and fresh:
                return self._endpoints
            self._check_cooldown()
            try:
                self._endpoints = self._endpoints_from_metadata(settings.openid_configuration_url)
            except KeysUnavailable:
                if self._endpoints is not None:  # keep the last good metadata through an outage
                    return self._endpoints
                raise
            self._endpoints_fetched = time.monotonic()
            return self._endpoints

    def _endpoints_from_metadata(self, url: str) -> _Endpoints:
        try:
            metadata = _fetch_json(url)
        except (URLError, TimeoutError, OSError, http.client.HTTPException, ValueError) as exc:
            raise self._failed(
                f"the OpenID metadata ({ENTRA_OPENID_CONFIGURATION_URL}) could not be fetched: "
                f"{type(exc).__name__}"
            ) from exc
        if not isinstance(metadata, dict):
            raise self._failed("the OpenID metadata is not a JSON object")
        jwks_url = self.settings.jwks_url or metadata.get("jwks_uri")
        if not _acceptable_url(jwks_url):
            raise self._failed(f"the OpenID metadata has no usable https jwks_uri (set {ENTRA_JWKS_URL})")
        issuers = self.settings.issuers
        if not issuers:
            issuer = metadata.get("issuer")
            if not isinstance(issuer, str) or not issuer:
                raise self._failed(f"the OpenID metadata names no issuer (set {ENTRA_ISSUER})")
            if "{tenantid}" in issuer.lower():
                # The multi-tenant documents (common, organizations) name a template, not an issuer.
                raise self._failed(
                    f"the OpenID metadata's issuer is a template ({issuer}): use the tenant's own "
                    f"metadata URL or set {ENTRA_ISSUER}"
                )
            issuers = (issuer,)
        return _Endpoints(jwks_url=jwks_url, issuers=issuers)

    def _signing_key(self, endpoints: _Endpoints, kid: str) -> RSAPublicKey:
        with self._lock:
            if self._jwks is None or self._jwks.uri != endpoints.jwks_url:
                self._jwks = jwt.PyJWKClient(
                    endpoints.jwks_url,
                    cache_jwk_set=True,
                    lifespan=JWKS_LIFESPAN,
                    timeout=FETCH_TIMEOUT,
                    cooldown_duration=JWKS_REFRESH_COOLDOWN,
                )
            client = self._jwks
            cached = client.jwk_set_cache is not None and client.jwk_set_cache.get() is not None
            if not cached:
                self._check_cooldown()
        try:
            client.get_signing_keys()  # the key set itself: every failure here is on the key server's side
        except jwt.PyJWTError as exc:
            raise self._failed(f"the signing keys could not be fetched: {exc}") from exc
        try:
            found = client.get_signing_key(kid)  # may refetch once for a rotated key
        except jwt.PyJWKClientConnectionError as exc:
            raise self._failed(f"the signing keys could not be fetched: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise BearerRefused("unknown_key", f"the bearer token's key {kid!r} is not the tenant's") from exc
        if not isinstance(found.key, RSAPublicKey):
            raise BearerRefused("unknown_key", f"the tenant's key {kid!r} is not an RSA key")
        return found.key


@lru_cache(maxsize=8)
def validator_for(settings: EntraSettings) -> EntraValidator:
    """One validator (and so one key cache) per configuration, for the life of the process."""
    return EntraValidator(settings)
