"""The approval handlers: read a pending request, answer it, issue a respond link for it.

An answer reads its run once, finds the request (the run's own, one a map partition asked, or one an agent
step asked before a tool, in its own orchestration), checks the
link and the caller's right to answer (``answer_rights``), validates the response strictly, and raises it
as an envelope signed for that request of that run (``engine.durable.answers``) where the answer is
awaited. It then waits briefly to learn whether it decided: concurrent answers get 409.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from engine.core.approval import Approval
from engine.core.graph import Workflow
from engine.core.run_state import ClosedApproval, PendingApproval
from engine.durable.answers import AnswerEnvelope, Binding, signed_envelope
from engine.durable.client import DurableClient, RefusedByBackend
from engine.durable.partition import ANSWERS_EVENT, PartitionAnswer
from engine.durable.signing_keys import SigningKeys
from engine.functions.answer_rights import caller_of, may_answer, viewer_may_answer
from engine.functions.approval_tokens import TokenClaims, TokenError, issue, token_expiry, verify
from engine.functions.http_json import HttpError, check_instance_id, json_response, read_json, validated
from engine.functions.identity import Caller
from engine.functions.loop_reads import loop_owner
from engine.functions.partition_reads import entry_owner
from engine.functions.request_bodies import LinkRequest
from engine.functions.run_reads import RunRead
from engine.functions.run_view import approval_entry, pending_approvals
from engine.functions.settings import engine_settings
from engine.functions.workflow_api import WorkflowApi

ANSWER_WAIT_SECONDS = 5.0  # how long an answer waits to learn whether it decided the approval
ANSWER_POLL_SECONDS = 0.125


async def _open_run(
    api: WorkflowApi, req: func.HttpRequest, client: DurableClient
) -> tuple[Workflow, RunRead, str]:
    """The run named in the route, read once, and the request id; 410 when the run has finished."""
    workflow = api.workflow(req)
    instance_id = check_instance_id(req.route_params.get("instanceId", ""))
    read = await api.runs.named(workflow, instance_id, client)
    if read.finished:
        raise HttpError(410, f"run {instance_id!r} has finished ({read.status.runtime})")
    return workflow, read, req.route_params.get("requestId", "")


async def _pending_in(
    api: WorkflowApi, client: DurableClient, read: RunRead, request_id: str
) -> tuple[PendingApproval, str, list[ClosedApproval]]:
    """The pending approval request, the instance that waits for its answer (the run, or the map partition
    that asked it), and the requests closed there: 404 when unknown, 409 when closed or when the run's
    version is not served here. Read from histories, whatever the number of open requests."""
    if read.version_problem is not None:
        raise HttpError(409, read.version_problem)
    snapshot = read.snapshot
    instance_id = read.status.instance_id
    closed = list(snapshot.closed_approvals) if snapshot is not None else []
    pending = next(
        (p for p in pending_approvals(read.status.runtime, snapshot) if p.request_id == request_id), None
    )
    if pending is not None:
        return pending, instance_id, closed
    held = await api.partition_reads.holding(client, snapshot, request_id)
    if held is not None:
        pending = next((p for p in held.pending if p.request_id == request_id), None)
        if pending is not None:
            return pending, held.asked.instance_id, closed + held.closed
        closed += held.closed
    in_loop = await api.loop_reads.holding(client, snapshot, request_id)
    if in_loop is not None:  # asked by an agent step before a tool, in the step's orchestration
        pending = next((p for p in in_loop.pending if p.request_id == request_id), None)
        if pending is not None:
            return pending, in_loop.instance_id, closed + in_loop.closed
        closed += in_loop.closed
    if any(c.request_id == request_id for c in closed):
        raise HttpError(409, f"approval request {request_id!r} has already been answered or timed out")
    raise HttpError(
        404, f"no pending approval request {request_id!r} in run {instance_id!r}", field="requestId"
    )


async def get_approval(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``GET .../approvals/{requestId}``: one pending request, as the run's view lists it."""
    workflow, read, request_id = await _open_run(api, req, client)
    pending, waiting, _ = await _pending_in(api, client, read, request_id)
    assert read.snapshot is not None  # a pending approval comes from a fold
    instance_id = read.status.instance_id
    base = api.run_uri(req, workflow.name, instance_id)
    rights = await viewer_may_answer(req, instance_id, read.run_nonce)
    entry = approval_entry(read.snapshot.workflow, pending, base, rights)
    if waiting == instance_id:
        return json_response(entry)
    owner = entry_owner(waiting) if pending.event_name == ANSWERS_EVENT else loop_owner(waiting)
    return json_response({**entry, **owner})


async def approve(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """``POST .../approvals/{requestId}``: answer a pending request (202; 401/403 without the right)."""
    workflow, read, request_id = await _open_run(api, req, client)
    instance_id = read.status.instance_id
    claims = _link_claims(req, read, request_id)
    try:
        pending, waiting, _ = await _pending_in(api, client, read, request_id)
    except HttpError as refused:
        await _refuse_used_link(api, client, read, request_id, claims, refused)
        raise
    assert read.snapshot is not None  # a pending approval comes from a fold
    approval = read.snapshot.workflow.approval(pending.approval_id)
    caller = await caller_of(req, claims.sub if claims else None)
    _check_right(caller, pending, approval)
    body = read_json(req, limit=engine_settings().max_body_bytes)
    response = validated(approval.parse_answer, body, f"response for approval {approval.id!r}")
    answer = AnswerEnvelope(
        response=approval.response_adapter.dump_python(response, mode="json"),
        decided_by=caller.name,
        via="endpoint",
        at=datetime.now(UTC).isoformat(),
        answer_id=uuid.uuid4().hex,
        link=claims.n if claims else None,
    )
    # Signed for the run (a partition verifies it as the run would), raised where the answer is awaited.
    binding = Binding(instance_id=instance_id, request_id=request_id, run_nonce=read.run_nonce)
    event = _event_body(approval, binding, answer)
    if pending.event_name == ANSWERS_EVENT:  # a map partition takes every answer on one event, by request
        event = PartitionAnswer(request_id=request_id, answer=event).model_dump(mode="json")
    await _raise(client, instance_id, waiting, pending.event_name, event)
    taken = await _taken(api, workflow, client, instance_id, request_id, answer.answer_id, waiting)
    if taken is False:
        raise HttpError(409, f"another answer to approval request {request_id!r} was taken first")
    run_uri = api.run_uri(req, workflow.name, instance_id)
    return json_response(
        {
            "accepted": True,
            # True: this answer decided the approval; None: not taken in yet (see waitUri).
            "taken": taken,
            "answerId": answer.answer_id,
            "requestId": request_id,
            "instanceId": instance_id,
            "decidedBy": caller.name,
            # The run view once this answer has been taken in (or the run has finished).
            "waitUri": f"{run_uri}?wait=30&answered={request_id}",
        },
        status=202,
    )


def _link_claims(req: func.HttpRequest, read: RunRead, request_id: str) -> TokenClaims | None:
    """The respond link's claims, when the answer came through one (or every answer must): 403 unless it
    is valid for this request of this run."""
    token = req.params.get("token")
    if not (engine_settings().require_approval_token or token):
        return None
    try:
        return verify(
            SigningKeys.for_links(),
            token,
            instance_id=read.status.instance_id,
            run_nonce=read.run_nonce,
            request_id=request_id,
            now=datetime.now(UTC),
        )
    except TokenError as exc:
        raise HttpError(403, str(exc)) from exc


async def _refuse_used_link(
    api: WorkflowApi,
    client: DurableClient,
    read: RunRead,
    request_id: str,
    claims: TokenClaims | None,
    refused: HttpError,
) -> None:
    """Replay protection that holds across restarts and instances: the histories say which link an answer
    came through (a link names its one request, so only a closed request's can be used)."""
    if claims is None or refused.status != 409 or read.version_problem is not None:
        return
    snapshot = read.snapshot
    closed = list(snapshot.closed_approvals) if snapshot is not None else []
    held = await api.partition_reads.holding(client, snapshot, request_id)
    closed += held.closed if held is not None else []
    in_loop = await api.loop_reads.holding(client, snapshot, request_id)
    if any(c.link == claims.n for c in closed + (in_loop.closed if in_loop is not None else [])):
        raise HttpError(403, "this approval link has already been used") from None


def _check_right(caller: Caller, pending: PendingApproval, approval: Approval[Any, Any]) -> None:
    """401 for an anonymous caller of a request with named approvers, 403 for anyone else not among them."""
    if may_answer(caller)(pending):
        return
    if caller.name is None:
        raise HttpError(
            401,
            f"approval {approval.id!r} is for {approval.approvers}: answer it with your identity "
            "(Easy Auth, an Entra ID bearer token, or a respond link issued to you)",
        )
    raise HttpError(
        403, f"{caller.name} may not answer approval {approval.id!r}: it is for {approval.approvers}"
    )


def _event_body(approval: Approval[Any, Any], binding: Binding, answer: AnswerEnvelope) -> Any:
    """The signed envelope; without a signing key, a raw answer (which carries no identity)."""
    try:
        return signed_envelope(SigningKeys.from_env(), binding, answer)
    except LookupError as exc:
        if approval.approvers:
            raise HttpError(
                503,
                f"approval {approval.id!r} is limited to named approvers, and answers to it must be "
                "signed: set the APPROVAL_SIGNING_KEY app setting",
            ) from exc
        return answer.response


async def _raise(client: DurableClient, instance_id: str, waiting: str, name: str, event: Any) -> None:
    try:
        await client.raise_event(waiting, name, event)
    except RefusedByBackend as exc:
        # A run finishing (terminated, timed out) while the answer was on its way.
        latest = await client.status(instance_id)
        if latest is None or latest.finished:
            ended = latest.runtime if latest is not None else "purged"
            raise HttpError(410, f"run {instance_id!r} has finished ({ended})") from exc
        raise


async def _taken(
    api: WorkflowApi,
    workflow: Workflow,
    client: DurableClient,
    instance_id: str,
    request_id: str,
    answer_id: str,
    waiting: str,
) -> bool | None:
    """Whether the run (or the partition ``waiting`` for the answer) took this answer (True), another one
    (False), or none yet (None) within a short wait: concurrent answers learn which one decided."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ANSWER_WAIT_SECONDS
    seen: Any = None
    read_at = -1.0
    while True:
        # A history is read (and folded) once the instance awaiting the answer shows a change, or a second
        # after the last read: a host's update time may be kept to the second.
        latest = await client.status(waiting)
        mark = (latest.updated, str(latest.custom_status)) if latest is not None else None
        if mark != seen or loop.time() - read_at >= 1.0:
            seen, read_at = mark, loop.time()
            snapshot = (await api.runs.read(workflow, client, instance_id)).snapshot
            closed = list(snapshot.closed_approvals) if snapshot is not None else []
            if waiting != instance_id:
                held = await api.partition_reads.holding(client, snapshot, request_id)
                closed += held.closed if held is not None else []
                in_loop = await api.loop_reads.holding(client, snapshot, request_id)
                closed += in_loop.closed if in_loop is not None else []
            found = next((c for c in closed if c.request_id == request_id), None)
            if found is not None:
                return found.answer_id == answer_id
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(ANSWER_POLL_SECONDS)


async def issue_link(api: WorkflowApi, req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    """A respond link for one person (for a notification): the token names them and expires with the
    approval's deadline. For an approval with named approvers, the person must be one of them."""
    workflow, read, request_id = await _open_run(api, req, client)
    body = read_json(req, limit=engine_settings().max_body_bytes)
    wanted = validated(LinkRequest.model_validate, body, "link request")
    pending = (await _pending_in(api, client, read, request_id))[0]
    if pending.approvers and wanted.for_ not in pending.approvers:
        raise HttpError(
            400,
            f"a link for {wanted.for_!r} could not answer approval {pending.approval_id!r}: "
            f"it is for {pending.approvers} (name one of the users there)",
            field="for",
        )
    instance_id = read.status.instance_id
    token = issue(
        SigningKeys.for_links(),
        instance_id=instance_id,
        run_nonce=read.run_nonce,
        request_id=request_id,
        expires=pending.deadline,
        now=datetime.now(UTC),
        subject=wanted.for_,
    )
    respond = f"{api.run_uri(req, workflow.name, instance_id)}/approvals/{request_id}?token={token}"
    return json_response(
        {"respond_uri": respond, "for": wanted.for_, "expires": token_expiry(token).isoformat()},
        status=201,
    )


__all__ = ["approve", "get_approval", "issue_link"]
