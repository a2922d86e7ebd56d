"""Document review: a batch of documents, each reviewed by an agent (a map over a list known only at run
time, at most 8 reviews at once), the reviews gathered in document order, a person approves, the batch is
published. A document whose review fails for good is listed in the report instead of failing the batch.
The approval waits 48 hours; silence holds the batch."""

from __future__ import annotations

from datetime import timedelta

from engine import Approval, ApprovalDecision, WorkflowBuilder, respond_with
from executors.documents import (
    ReviewReport,
    compile_report,
    documents_of,
    gather_reviews,
    publish_batch,
    receive_batch,
    review_document,
)

publication_approval = Approval(
    "batch_approval",
    request=ReviewReport,
    response=ApprovalDecision,
    timeout=timedelta(hours=48),
    on_timeout=respond_with({"approved": False, "comment": "no decision within 48 hours"}),
    description="A person reads the reviews and approves the batch for publication.",
)

workflow = (
    WorkflowBuilder(
        "document_review",
        start=receive_batch,
        description="Review each document of a batch with an agent, gather the reviews, approve, publish.",
    )
    .add_map(
        receive_batch,
        review_document,
        collect=gather_reviews,
        items=documents_of,
        max_parallel=8,
        on_item_error="collect",
    )
    .add_fan_in([receive_batch, gather_reviews], compile_report)
    .add_chain([compile_report, publication_approval, publish_batch])
    .build()
)
