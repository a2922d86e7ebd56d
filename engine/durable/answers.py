"""Signed approval answers: the envelope the approval endpoint raises, and the activity that verifies it.

An external event carries no caller identity, so who decided, and through which path, must never be
taken from its payload. The endpoint signs what it raises (an HMAC over the instance, the request, the
response, who decided, how, when, the answer's id and the link used) with the app's signing key, naming
the key by its id. The orchestrator has the signature checked by ``verify_answer`` - an activity, so the
verdict is recorded in the run's history and every replay reads the same verdict, even after the key is
rotated or the state moves to another machine. Keys: ``APPROVAL_SIGNING_KEY`` signs;
``APPROVAL_SIGNING_KEYS_RETIRED`` (comma-separated) still verify. There is no per-process fallback key:
without a configured key nothing is signed, and an unsigned envelope counts as a raw event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

SIGNING_KEY = "APPROVAL_SIGNING_KEY"
RETIRED_KEYS = "APPROVAL_SIGNING_KEYS_RETIRED"
VERIFY_ACTIVITY = "verify_approval_answer"
ENVELOPE = "$approval"
Via = Literal["endpoint", "event", "timeout", "runner"]


def key_id(secret: bytes) -> str:
    """A public name for a key: names it without revealing it."""
    return hashlib.sha256(b"approval-signing-key-id\x00" + secret).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """The key that signs (if any) and every key that verifies, by key id."""

    signing: tuple[str, bytes] | None
    verifying: dict[str, bytes]

    @classmethod
    def from_env(cls) -> SigningKeys:
        current = os.environ.get(SIGNING_KEY, "").strip().encode()
        retired = [k.strip().encode() for k in os.environ.get(RETIRED_KEYS, "").split(",") if k.strip()]
        verifying = {key_id(k): k for k in [*retired, *([current] if current else [])]}
        return cls((key_id(current), current) if current else None, verifying)


class AnswerEnvelope(BaseModel):
    """The value under ``$approval`` in an event our endpoint raises."""

    response: Any
    decided_by: str | None = None
    via: Via = "endpoint"
    at: str | None = None
    answer_id: str | None = None
    link: str | None = None  # the nonce of the respond link used, if one was
    kid: str | None = None
    sig: str | None = None


def _mac(secret: bytes, instance_id: str, request_id: str, envelope: AnswerEnvelope) -> str:
    signed = [
        instance_id,
        request_id,
        envelope.response,
        envelope.decided_by,
        envelope.via,
        envelope.at,
        envelope.answer_id,
        envelope.link,
    ]
    text = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def signed_envelope(
    keys: SigningKeys, *, instance_id: str, request_id: str, answer: AnswerEnvelope
) -> dict[str, Any]:
    """The event body for ``answer``, signed with the current key; raises when no key is configured."""
    if keys.signing is None:
        raise LookupError(f"{SIGNING_KEY} is not set: approval answers cannot be signed")
    kid, secret = keys.signing
    signed = answer.model_copy(update={"kid": kid, "sig": None})
    signed.sig = _mac(secret, instance_id, request_id, signed)
    return {ENVELOPE: signed.model_dump(mode="json")}


class VerifyRequest(BaseModel):
    """The ``sequence``-th envelope received for ``request_id`` in this execution, to be verified."""

    instance_id: str
    request_id: str
    sequence: int
    envelope: Any


class Verdict(BaseModel):
    """What ``verify_answer`` found; recorded in the history, so replays never verify again."""

    request_id: str
    sequence: int
    valid: bool
    reason: str | None = None
    decided_by: str | None = None
    via: Via = "event"
    answer_id: str | None = None
    link: str | None = None


def verify(keys: SigningKeys, request: VerifyRequest) -> Verdict:
    def refuse(reason: str) -> Verdict:
        return Verdict(request_id=request.request_id, sequence=request.sequence, valid=False, reason=reason)

    try:
        envelope = AnswerEnvelope.model_validate(request.envelope)
    except ValidationError:
        return refuse("the envelope is malformed")
    if envelope.kid is None or envelope.sig is None:
        return refuse("the envelope is not signed")
    secret = keys.verifying.get(envelope.kid)
    if secret is None:
        return refuse(f"the envelope is signed with an unknown key {envelope.kid!r}")
    expected = _mac(secret, request.instance_id, request.request_id, envelope)
    if not hmac.compare_digest(expected, envelope.sig):
        return refuse("the envelope's signature does not match")
    return Verdict(
        request_id=request.request_id,
        sequence=request.sequence,
        valid=True,
        decided_by=envelope.decided_by,
        via=envelope.via,
        answer_id=envelope.answer_id,
        link=envelope.link,
    )


async def verify_answer(payload: Any) -> dict[str, Any]:
    """The activity: the verdict on one envelope, with the keys of this app (JSON in and out)."""
    request = (
        VerifyRequest.model_validate_json(payload)
        if isinstance(payload, str | bytes)
        else (VerifyRequest.model_validate(payload))
    )
    return verify(SigningKeys.from_env(), request).model_dump(mode="json")
