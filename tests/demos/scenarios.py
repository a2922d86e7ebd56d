"""Scenarios of the demo workflows that complete without timeouts, for parity tests across runners.

``SCENARIOS[workflow name]`` is a list of ``(input JSON, {approval node id: response JSON})``. Every
approval a run asks is answered from the mapping by its node id. Outputs are deterministic (the offline
model's answers depend only on their prompts; nothing carries a time, an id or an idempotency key).
"""

from __future__ import annotations

from typing import Any

from engine import InMemoryRunner, RunResult, Workflow

_DOCS = [
    {"title": f"Release note {i}", "text": f"Version 2.{i} adds durable maps and fixes {i} bugs."}
    for i in range(12)
]

SCENARIOS: dict[str, list[tuple[dict[str, Any], dict[str, dict[str, Any]]]]] = {
    "document_review": [
        # Twelve documents (more than max_parallel=8): reviewed in document order, then approved.
        (
            {"batch_id": "notes-2", "documents": _DOCS},
            {"batch_approval": {"approved": True, "comment": "ok"}},
        ),
        # One document, held by the approver.
        (
            {"batch_id": "single", "documents": _DOCS[:1]},
            {"batch_approval": {"approved": False, "comment": "not yet"}},
        ),
        # No documents: the map gives the report an empty list.
        ({"batch_id": "empty", "documents": []}, {"batch_approval": {"approved": True}}),
    ],
    "expense_claim": [
        ({"employee": "ada", "title": "Taxi", "amount": 42}, {}),
        ({"employee": "ada", "title": "Casino night", "amount": 42}, {}),
        ({"employee": "bo", "title": "Travel", "amount": 1250}, {"manager_approval": {"approved": True}}),
    ],
    "order_cancellation": [
        # Placed, 250 EUR: under the approval threshold, cancelled straight away.
        ({"order_id": "ORD-100250", "reason": "Ordered the wrong size"}, {}),
        # Delivered: not cancellable, an agent drafts the refusal.
        ({"order_id": "ORD-400120", "reason": "Changed my mind"}, {}),
        # Processing, 1200 EUR: refund 1140 after the restocking fee, so the manager approves it.
        (
            {"order_id": "ORD-201200", "reason": "Found it cheaper elsewhere"},
            {"manager_approval": {"approved": True, "comment": "Loyal customer"}},
        ),
    ],
    "content_review": [
        (
            {
                "title": "Durable workflows on Azure Functions",
                "author": "ada",
                "draft": "Durable Functions let a workflow wait for days for a person without a server.",
                "audience": "technical",
                "max_rounds": 2,
            },
            {"publication_approval": {"approved": True, "comment": "Ship it"}},
        ),
        # With the offline model this one uses every round and is accepted at the limit.
        (
            {
                "title": "Case study",
                "author": "grace",
                "draft": "Our new release makes approvals durable.",
                "max_rounds": 4,
            },
            {"publication_approval": {"approved": True}},
        ),
        (
            {"title": "Hiring post", "author": "alan", "draft": "We are hiring engineers.", "max_rounds": 1},
            {"publication_approval": {"approved": False, "comment": "Wait for the budget"}},
        ),
    ],
}


async def run_in_memory(
    runner: InMemoryRunner,
    workflow: Workflow,
    input: dict[str, Any],
    responses: dict[str, dict[str, Any]],
    instance_id: str | None = None,
) -> RunResult:
    """Run a scenario to its end, answering each approval by its node id (``instance_id``: for runs whose
    output depends on it, through the idempotency keys their tools derive from it). A request for named
    approvers is answered by the first of them, as a respond link issued to them answers it durably."""
    result = await runner.run(workflow, input, instance_id=instance_id)
    while result.status == "waiting_for_approval":
        pending = result.pending_approvals[0]
        deciders = pending.approvers[0] if pending.approvers else None
        answers = {
            p.request_id: responses[p.approval_id]
            for p in result.pending_approvals
            if (p.approvers[0] if p.approvers else None) == deciders
        }
        result = await runner.resume(result.state, answers, workflow=workflow, decided_by=deciders)
    return result
