"""Who may answer an approval request: the rule, beside ``identity.py`` (who is calling).

Anyone who may call the workflow API answers a request without named approvers; one with named approvers
(users or roles) needs a verified identity among them, or a respond link issued to one of them for that
very request of that very run (``approval_tokens``). A view shows ``can_answer`` by the same rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import azure.functions as func

from engine.core.run_state import PendingApproval
from engine.durable.signing_keys import SigningKeys
from engine.functions.approval_tokens import TokenError, peek_claims, verify
from engine.functions.identity import Caller, approver, with_link

MayAnswer = Callable[[PendingApproval], bool]


async def caller_of(req: func.HttpRequest, link_subject: str | None = None) -> Caller:
    """Who is calling, as far as it can be verified (a bearer token's keys may need fetching, so off the
    loop); a respond link issued to a person names them when nobody else vouches for the caller."""
    return await asyncio.to_thread(approver, req.headers, link_subject)


def may_answer(caller: Caller) -> MayAnswer:
    """THE rule: a request without named approvers is anyone's; one with named approvers needs an
    identity among them."""
    return lambda pending: not pending.approvers or caller.is_one_of(pending.approvers)


async def viewer_may_answer(req: func.HttpRequest, instance_id: str, run_nonce: str | None) -> MayAnswer:
    """``can_answer`` for whoever views a run: their verified identity, and - opened through a respond
    link (``?token=``) valid for this run - the person the link names, for that one request."""
    caller = await caller_of(req)
    token = req.params.get("token")
    if not token:
        return may_answer(caller)
    try:
        claims = peek_claims(token)
        verify(
            SigningKeys.for_links(),
            token,
            instance_id=instance_id,
            run_nonce=run_nonce,
            request_id=claims.r,
            now=datetime.now(UTC),
        )
    except TokenError:
        return may_answer(caller)
    holder = with_link(caller, claims.sub)
    return lambda p: may_answer(holder if p.request_id == claims.r else caller)(p)


__all__ = ["MayAnswer", "caller_of", "may_answer", "viewer_may_answer"]
