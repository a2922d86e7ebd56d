"""Steps of the document review: split a batch into documents, an agent reviews each one, the reviews are
gathered into one report, and the batch is published once a person approves."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from engine import ApprovalDecision, ApprovalOutcome, ItemFailed, executor
from engine.agents import Agent


class Document(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20_000)


class Batch(BaseModel):
    batch_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    documents: list[Document] = Field(max_length=1000)


class DocumentReview(BaseModel):
    """One agent's review of one document."""

    verdict: Literal["ok", "needs_changes", "reject"]
    summary: str
    issues: list[str] = Field(default_factory=list)


class Reviews(BaseModel):
    """What the map gathered: the reviews in document order, and the documents no review came back for."""

    reviews: list[DocumentReview]
    failed: list[int] = Field(default_factory=list)


class ReviewReport(BaseModel):
    batch_id: str
    documents: int
    failed: list[int] = Field(default_factory=list, description="indexes of documents with no review")
    verdicts: dict[str, int]
    reviews: list[DocumentReview]


class Publication(BaseModel):
    batch_id: str
    status: Literal["published", "held"]
    documents: int
    comment: str | None = None


@executor(id="receive_batch")
def receive_batch(batch: Batch) -> Batch:
    return batch


def documents_of(batch: Batch) -> list[Document]:
    """The map's items: one review per document."""
    return batch.documents


review_document = Agent(
    "review_document",
    instructions=(
        "You review one document before it is published. Give a verdict (ok, needs_changes or reject), a "
        "one-sentence summary, and the concrete issues that must be fixed, if any."
    ),
    input_type=Document,
    output_type=DocumentReview,
)


@executor(id="gather_reviews")
def gather_reviews(results: list[DocumentReview | ItemFailed]) -> Reviews:
    """In document order; a document whose review failed for good is listed, not lost."""
    return Reviews(
        reviews=[r for r in results if isinstance(r, DocumentReview)],
        failed=[r.index for r in results if isinstance(r, ItemFailed)],
    )


@executor(id="compile_report")
def compile_report(parts: list[Batch | Reviews]) -> ReviewReport:
    """Fan-in of the batch and its gathered reviews."""
    batch = next(p for p in parts if isinstance(p, Batch))
    gathered = next(p for p in parts if isinstance(p, Reviews))
    verdicts: dict[str, int] = {}
    for review in gathered.reviews:
        verdicts[review.verdict] = verdicts.get(review.verdict, 0) + 1
    return ReviewReport(
        batch_id=batch.batch_id,
        documents=len(batch.documents),
        failed=gathered.failed,
        verdicts=verdicts,
        reviews=gathered.reviews,
    )


Decision = ApprovalOutcome[ReviewReport, ApprovalDecision]


@executor(id="publish_batch")
def publish_batch(outcome: Decision) -> Publication:
    report = outcome.request
    status: Literal["published", "held"] = "published" if outcome.response.approved else "held"
    return Publication(
        batch_id=report.batch_id, status=status, documents=report.documents, comment=outcome.response.comment
    )
