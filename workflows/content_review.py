"""Content review: specialist agents in parallel, an editor's brief, a bounded writer/reviewer loop, a
person's final approval, then publication.

The loop ends when the reviewer approves or after the submission's ``max_rounds`` (the last round is
accepted as it is and marked ``forced``). The final approval waits 72 hours; silence means "not
published", the safe default for anything public.
"""

from __future__ import annotations

from datetime import timedelta

from engine import Approval, ApprovalDecision, WorkflowBuilder, respond_with, was_approved, was_rejected
from executors.content import (
    SPECIALISTS,
    RoundResult,
    collect_reports,
    collect_revision,
    edit_brief,
    judge_round,
    needs_another_round,
    next_round,
    open_revision,
    publish,
    receive_submission,
    review_revision,
    revision_accepted,
    shelve,
    start_round,
    write_revision,
)

publication_approval = Approval(
    "publication_approval",
    request=RoundResult,
    response=ApprovalDecision,
    timeout=timedelta(hours=72),
    on_timeout=respond_with({"approved": False, "comment": "no decision within 72 hours"}),
    description="An editor approves the reviewed text for publication.",
)

workflow = (
    WorkflowBuilder(
        "content_review",
        start=receive_submission,
        description=(
            "Review a draft with fact, tone and compliance agents, revise it in a bounded writer/reviewer "
            "loop, and publish it once an editor approves."
        ),
        # Six supersteps per round, five rounds at most, plus the review before and the approval after.
        max_supersteps=60,
    )
    .add_fan_out(receive_submission, SPECIALISTS)
    .add_fan_in([receive_submission, *SPECIALISTS], collect_reports)
    .add_edge(collect_reports, edit_brief)
    .add_fan_in([collect_reports, edit_brief], open_revision)
    .add_edge(open_revision, start_round)
    .add_edge(start_round, write_revision)
    .add_fan_in([start_round, write_revision], collect_revision)
    .add_edge(collect_revision, review_revision)
    .add_fan_in([collect_revision, review_revision], judge_round)
    .add_edge(judge_round, publication_approval, when=revision_accepted)
    .add_edge(judge_round, next_round, when=needs_another_round)
    .add_edge(next_round, start_round)
    .add_edge(publication_approval, publish, when=was_approved)
    .add_edge(publication_approval, shelve, when=was_rejected)
    .build()
)
