"""Signed approval tokens: who may answer which approval request of which run, until when.

A token is ``<payload>.<signature>``, both base64url: the payload is JSON naming the instance, the
request, the expiry (the approval's deadline) and optionally a subject (the approver it was issued to);
the signature is HMAC-SHA256 over the payload with the app's signing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ValidationError

DEFAULT_LIFETIME = timedelta(days=7)


class TokenError(Exception):
    """Why a token is refused (the caller answers 403 with this message)."""


class TokenClaims(BaseModel):
    i: str  # instance id
    r: str  # request id
    exp: int  # expiry, seconds since the epoch
    sub: str | None = None
    n: str  # nonce: every issued link is distinct, so a used one can be told from a fresh one


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(
    key: bytes,
    *,
    instance_id: str,
    request_id: str,
    expires: datetime | None,
    now: datetime,
    subject: str | None = None,
) -> str:
    expiry = expires or now + DEFAULT_LIFETIME
    claims = TokenClaims(
        i=instance_id, r=request_id, exp=int(expiry.timestamp()), sub=subject, n=secrets.token_hex(8)
    )
    payload = _b64(claims.model_dump_json(exclude_none=True).encode())
    signature = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def verify(key: bytes, token: str | None, *, instance_id: str, request_id: str, now: datetime) -> TokenClaims:
    if not token:
        raise TokenError("this approval needs the signed token of its respond link (?token=...)")
    payload, dot, signature = token.partition(".")
    if not dot:
        raise TokenError("the approval token is malformed")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        raise TokenError("the approval token is not valid (wrong signature)")
    try:
        claims = TokenClaims.model_validate(json.loads(_unb64(payload)))
    except (ValueError, ValidationError) as exc:
        raise TokenError("the approval token is malformed") from exc
    if claims.i != instance_id or claims.r != request_id:
        raise TokenError("the approval token was issued for another approval request")
    if now >= datetime.fromtimestamp(claims.exp, UTC):
        raise TokenError("the approval token has expired")
    return claims


def peek_claims(token: str) -> TokenClaims:
    """A token's claims, read WITHOUT checking its signature: only to know what to ``verify`` it for."""
    try:
        return TokenClaims.model_validate(json.loads(_unb64(token.partition(".")[0])))
    except (ValueError, ValidationError) as exc:
        raise TokenError("the approval token is malformed") from exc


def token_expiry(token: str) -> datetime:
    """When a token this app issued expires (read without checking it: for telling its holder)."""
    return datetime.fromtimestamp(peek_claims(token).exp, UTC)
