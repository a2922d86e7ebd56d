"""A document batch for the dashboard's browser tests, served through the app's own ``WORKFLOW_MODULES``.

One document per superstep, so a batch of 20 outlives ``continue_every`` (10) and its timeline must span
executions; a named document fails its first attempt (a retry to inspect) and another fails every
time (an error to inspect); an editor signs the batch off at the end.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from engine import (
    Approval,
    ApprovalDecision,
    ApprovalOutcome,
    RetryPolicy,
    StepContext,
    WorkflowBuilder,
    executor,
)


class Batch(BaseModel):
    documents: list[str] = Field(min_length=1, max_length=100)
    flaky: str | None = Field(default=None, description="this document's first attempt fails")
    broken: str | None = Field(default=None, description="this document fails every attempt")


class Cursor(BaseModel):
    batch: Batch
    done: list[str] = Field(default_factory=list)


class Report(BaseModel):
    processed: list[str]


@executor(id="open_batch")
def open_batch(batch: Batch) -> Cursor:
    return Cursor(batch=batch)


@executor(id="process_document", retry=RetryPolicy(max_attempts=2, first_interval=timedelta(milliseconds=10)))
def process_document(cursor: Cursor, ctx: StepContext) -> Cursor:
    document = cursor.batch.documents[len(cursor.done)]
    if document == cursor.batch.broken:
        raise ValueError(f"cannot read {document}")
    if document == cursor.batch.flaky and ctx.attempt == 1:
        raise RuntimeError(f"{document}: the scanner is busy")
    return Cursor(batch=cursor.batch, done=[*cursor.done, document.upper()])


def more(cursor: Cursor) -> bool:
    return len(cursor.done) < len(cursor.batch.documents)


def all_done(cursor: Cursor) -> bool:
    return not more(cursor)


@executor(id="close_batch")
def close_batch(cursor: Cursor) -> Report:
    return Report(processed=cursor.done)


sign_off = Approval("sign_off", request=Report, response=ApprovalDecision, description="An editor signs off")


@executor(id="publish_batch")
def publish_batch(outcome: ApprovalOutcome[Report, ApprovalDecision]) -> dict[str, object]:
    return {"published": outcome.response.approved, "documents": len(outcome.request.processed)}


workflow = (
    WorkflowBuilder(
        "document_batch", start=open_batch, description="Process documents one by one", max_supersteps=200
    )
    .add_edge(open_batch, process_document)
    .add_edge(process_document, process_document, when=more)
    .add_edge(process_document, close_batch, when=all_done)
    .add_edge(close_batch, sign_off)
    .add_edge(sign_off, publish_batch)
    .build()
)
