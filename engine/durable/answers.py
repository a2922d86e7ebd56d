"""Signed approval answers: the envelope the approval endpoint raises, and the activity that verifies it.

An external event carries no caller identity, so who decided, and through which path, must never be
taken from its payload. The endpoint signs what it raises (an HMAC over the instance, the request, the
response, who decided, how, when, the answer's id and the link used) with the app's signing key, naming
the key by its id. The orchestrator has the signature checked by ``verify_answer`` - an activity, so the
verdict is recorded in the run's history and every replay reads the same verdict, even after the key is
rotated or the state moves to another machine. The keys come from ``engine.durable.signing_keys``
(retired keys still verify). There is no per-process fallback key: without a configured key nothing is
signed, and an unsigned envelope counts as a raw event.

An envelope is bound to one request of one run (``Binding``): the run's instance id and its nonce, so
an answer captured from a run never counts for another run that reuses the instance id after a purge.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from engine.core.jsontext import validated
from engine.durable.signing_keys import SIGNING_KEY, SigningKeys

VERIFY_ACTIVITY = "verify_approval_answer"
ENVELOPE = "$approval"
Via = Literal["endpoint", "event", "timeout", "runner"]


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


def _mac(secret: bytes, binding: Binding, envelope: AnswerEnvelope) -> str:
    signed = [
        binding.instance_id,
        binding.request_id,
        envelope.response,
        envelope.decided_by,
        envelope.via,
        envelope.at,
        envelope.answer_id,
        envelope.link,
    ]
    if binding.run_nonce is not None:
        signed.append(binding.run_nonce)  # runs started before runs had a nonce sign as they always did
    text = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # "surrogatepass": a lone surrogate (valid JSON, "\ud800") must be refused by the comparison, not
    # raise here and fail the run; every other text encodes exactly as plain UTF-8.
    return hmac.new(secret, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


class Binding(BaseModel):
    """What an answer is for: one request of one run. ``run_nonce`` tells the run from any other run that
    had (or will have) the same instance id: a purged run's answers and links never count for a new run
    started under its id (``engine.durable.checkpoint.OrchestratorInput.run_nonce``)."""

    instance_id: str
    request_id: str
    run_nonce: str | None = None


def signed_envelope(keys: SigningKeys, binding: Binding, answer: AnswerEnvelope) -> dict[str, Any]:
    """The event body for ``answer``, signed with the current key; raises when no key is configured."""
    if keys.signing is None:
        raise LookupError(f"{SIGNING_KEY} is not set: approval answers cannot be signed")
    kid, secret = keys.signing
    signed = answer.model_copy(update={"kid": kid, "sig": None})
    signed.sig = _mac(secret, binding, signed)
    return {ENVELOPE: signed.model_dump(mode="json")}


class VerifyRequest(Binding):
    """The ``sequence``-th envelope received for ``request_id`` in this execution, to be verified."""

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
    """The verdict on one envelope. Never raises, whatever JSON the envelope is: an attacker who could
    make verification fail would fail the run."""
    try:
        return _verdict(keys, request)
    except (TypeError, ValueError, RecursionError):  # JSON nested past any limit, and what we missed
        return Verdict(
            request_id=request.request_id,
            sequence=request.sequence,
            valid=False,
            reason="the envelope is malformed",
        )


def _verdict(keys: SigningKeys, request: VerifyRequest) -> Verdict:
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
        return refuse("the envelope is signed with an unknown key")
    if not envelope.sig.isascii():
        return refuse("the envelope's signature does not match")
    expected = _mac(secret, request, envelope)
    if not hmac.compare_digest(expected.encode(), envelope.sig.encode()):
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
    request = validated(VerifyRequest, payload)
    return verify(SigningKeys.from_env(), request).model_dump(mode="json")
