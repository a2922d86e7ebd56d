"""Signed approval tokens: who may answer which approval request of which run, until when.

A token is ``<payload>.<signature>``, both base64url: the payload is JSON naming the instance, the run's
nonce (``OrchestratorInput.run_nonce``: the one run of that instance id that asked), the request, the
expiry (the approval's deadline), the signing key's id and optionally a subject (the approver it was
issued to); the signature is HMAC-SHA256 over the payload with that key. Keys come from
``engine.durable.signing_keys``: a key retired by a rotation still verifies the links it signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ValidationError

from engine.durable.signing_keys import SigningKeys

DEFAULT_LIFETIME = timedelta(days=7)
MAX_TOKEN_LENGTH = 4096  # a real token is a few hundred characters


class TokenError(Exception):
    """Why a token is refused (the caller answers 403 with this message)."""


class TokenClaims(BaseModel):
    """A respond link's payload, in short names: the run (instance id and nonce), the request, the expiry,
    the subject and the key id."""

    i: str  # instance id
    k: str | None = None  # the run's nonce (None: a run from before runs had one)
    r: str  # request id
    exp: int  # expiry, seconds since the epoch
    sub: str | None = None
    n: str  # nonce: every issued link is distinct, so a used one can be told from a fresh one
    kid: str | None = None  # the signing key's id (None: a link from before links named their key)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def issue(
    keys: SigningKeys,
    *,
    instance_id: str,
    run_nonce: str | None,
    request_id: str,
    expires: datetime | None,
    now: datetime,
    subject: str | None = None,
) -> str:
    """A signed respond-link token for one request of one run, valid until ``expires`` (or for the default
    lifetime), for ``subject`` when named."""
    assert keys.signing is not None  # SigningKeys.for_links() always has one
    kid, secret = keys.signing
    expiry = expires or now + DEFAULT_LIFETIME
    claims = TokenClaims(
        i=instance_id,
        k=run_nonce,
        r=request_id,
        exp=int(expiry.timestamp()),
        sub=subject,
        n=secrets.token_hex(8),
        kid=kid,
    )
    payload = _b64(claims.model_dump_json(exclude_none=True).encode())
    return f"{payload}.{_signature(secret, payload)}"


def verified_claims(keys: SigningKeys, token: str | None) -> TokenClaims:
    """The claims of a token one of ``keys`` signed (not yet checked against any run or request)."""
    if not token:
        raise TokenError("this approval needs the signed token of its respond link (?token=...)")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise TokenError("the approval token is malformed")
    payload, dot, signature = token.partition(".")
    if not dot:
        raise TokenError("the approval token is malformed")
    claims = peek_claims(token)
    if not any(
        hmac.compare_digest(_signature(secret, payload).encode(), signature.encode())
        for secret in keys.verifying_key(claims.kid)
    ):
        raise TokenError("the approval token is not valid (wrong signature)")
    return claims


def verify(
    keys: SigningKeys,
    token: str | None,
    *,
    instance_id: str,
    run_nonce: str | None,
    request_id: str,
    now: datetime,
) -> TokenClaims:
    """The claims of a token valid for this request of this run (raises ``TokenError``)."""
    claims = verified_claims(keys, token)
    if claims.i != instance_id or claims.r != request_id:
        raise TokenError("the approval token was issued for another approval request")
    if claims.k != run_nonce:
        # Same instance id, another run: the run the link was issued for was purged and the id reused.
        raise TokenError("the approval token was issued for an earlier run with this instance id")
    if now >= datetime.fromtimestamp(claims.exp, UTC):
        raise TokenError("the approval token has expired")
    return claims


def peek_claims(token: str) -> TokenClaims:
    """A token's claims, read WITHOUT checking its signature: only to know what to ``verify`` it for."""
    try:
        claims = TokenClaims.model_validate(json.loads(_unb64(token.partition(".")[0])))
        datetime.fromtimestamp(claims.exp, UTC)  # an expiry no clock can hold is no token of ours
    except (ValueError, ValidationError, binascii.Error, OverflowError, OSError, RecursionError) as exc:
        raise TokenError("the approval token is malformed") from exc
    return claims


def token_expiry(token: str) -> datetime:
    """When a token this app issued expires (read without checking it: for telling its holder)."""
    return datetime.fromtimestamp(peek_claims(token).exp, UTC)
