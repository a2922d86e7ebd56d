"""Steps of the content-review demo: specialist review agents, an editor, a writer/reviewer loop.

Agents turn their input into prose and verdicts; the state a step after them needs (the submission,
the round number, the limit) is kept by code. Each agent therefore sits beside the step that fed it in a
fan-in (``[feeder, agent] -> merge``): the feeder's message waits at the fan-in until the agent answers.

The revision loop is bounded in code, not by trusting the reviewer: the last allowed round is accepted
whatever the verdict, so the loop ends after at most ``max_rounds`` rounds with any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field, field_validator

from engine import ApprovalDecision, ApprovalOutcome, executor
from engine.agents import Agent

MAX_DRAFT_CHARS = 20_000

T = TypeVar("T")


class Submission(BaseModel):
    """A draft submitted for review and publication."""

    title: str = Field(min_length=1, max_length=200, examples=["Durable workflows on Azure Functions"])
    author: str = Field(min_length=1, max_length=80, examples=["ada"])
    draft: str = Field(
        min_length=1,
        max_length=MAX_DRAFT_CHARS,
        examples=["Durable Functions let a workflow wait for days for a person without paying for a server."],
    )
    audience: Literal["general", "technical", "executive"] = Field(default="general", examples=["technical"])
    max_rounds: int = Field(default=3, ge=1, le=5, description="writer/reviewer rounds at most", examples=[2])

    @field_validator("title", "author", "draft")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class ReviewJob(BaseModel):
    """The submission as handed to the specialists (and kept for the fan-in after them)."""

    kind: Literal["job"] = "job"
    submission: Submission


class FactsReport(BaseModel):
    kind: Literal["facts"] = "facts"
    claims_to_verify: list[str] = Field(max_length=10, description="statements that need a source")
    errors: list[str] = Field(max_length=10, description="statements that are wrong, with the correction")


class ToneReport(BaseModel):
    kind: Literal["tone"] = "tone"
    fits_audience: bool
    suggestions: list[str] = Field(max_length=10)


class ComplianceReport(BaseModel):
    kind: Literal["compliance"] = "compliance"
    issues: list[str] = Field(max_length=10, description="legal, privacy or policy problems")
    blocking: bool = Field(description="true when the draft must not be published as it is")


class ReviewPanel(BaseModel):
    kind: Literal["panel"] = "panel"
    submission: Submission
    facts: FactsReport
    tone: ToneReport
    compliance: ComplianceReport


class EditorialBrief(BaseModel):
    """The aggregating agent's instructions to the writer."""

    kind: Literal["brief"] = "brief"
    summary: str = Field(min_length=1, max_length=1000)
    must_fix: list[str] = Field(max_length=15)
    keep: list[str] = Field(max_length=10, description="strengths the revision must not lose")


class RevisionRound(BaseModel):
    """The loop's state: the text under revision and what the reviewer last said."""

    kind: Literal["round"] = "round"
    submission: Submission
    brief: EditorialBrief
    round: int = Field(ge=1)
    text: str
    feedback: list[str] = Field(default_factory=list)


class Revision(BaseModel):
    kind: Literal["revision"] = "revision"
    text: str = Field(min_length=1, max_length=MAX_DRAFT_CHARS)
    change_notes: list[str] = Field(max_length=10)


class Verdict(BaseModel):
    kind: Literal["verdict"] = "verdict"
    approved: bool = Field(description="true when the revision is ready for the editor's final approval")
    feedback: list[str] = Field(max_length=10, description="what the next revision must change")


class RoundResult(BaseModel):
    """A finished round; ``accepted`` ends the loop (what the final approver sees)."""

    state: RevisionRound
    verdict: Verdict
    accepted: bool
    forced: bool = Field(description="accepted because the round limit was reached, not by the reviewer")


class ReviewResult(BaseModel):
    """The run's output."""

    title: str
    author: str
    status: Literal["published", "rejected"]
    rounds: int
    forced: bool
    text: str
    slug: str | None = None
    comment: str = ""


# Discriminated by ``kind`` so each part keeps its type through the JSON a durable host stores.
ReportPart = Annotated[ReviewJob | FactsReport | ToneReport | ComplianceReport, Field(discriminator="kind")]
BriefPart = Annotated[ReviewPanel | EditorialBrief, Field(discriminator="kind")]
RevisionPart = Annotated[RevisionRound | Revision, Field(discriminator="kind")]
VerdictPart = Annotated[RevisionRound | Verdict, Field(discriminator="kind")]


@executor(id="receive_submission")
def receive_submission(submission: Submission) -> ReviewJob:
    return ReviewJob(submission=submission)


check_facts = Agent(
    "check_facts",
    instructions=(
        "You are a fact checker. List the statements in the draft that need a source, and the ones that are "
        "wrong, each with its correction. Do not comment on style."
    ),
    input_type=ReviewJob,
    output_type=FactsReport,
)
check_tone = Agent(
    "check_tone",
    instructions=(
        "You are a copy editor. Judge whether the draft's tone fits its audience (`submission.audience`) "
        "and suggest concrete changes of wording or structure."
    ),
    input_type=ReviewJob,
    output_type=ToneReport,
)
check_compliance = Agent(
    "check_compliance",
    instructions=(
        "You are a compliance reviewer. List legal, privacy, and policy problems in the draft (personal "
        "data, unverifiable claims about competitors, missing disclosures). Set blocking when the draft "
        "must not be published as it is."
    ),
    input_type=ReviewJob,
    output_type=ComplianceReport,
)
SPECIALISTS = [check_facts, check_tone, check_compliance]


@executor(id="collect_reports")
def collect_reports(parts: list[ReportPart]) -> ReviewPanel:
    """Fan-in of the submission and the three reports."""
    return ReviewPanel(
        submission=_one(parts, ReviewJob).submission,
        facts=_one(parts, FactsReport),
        tone=_one(parts, ToneReport),
        compliance=_one(parts, ComplianceReport),
    )


edit_brief = Agent(
    "edit_brief",
    instructions=(
        "You are the editor-in-chief. Merge the fact, tone and compliance reviews of the draft into one "
        "brief for the writer: a short summary, the changes that must be made (compliance first), and the "
        "strengths the revision must keep. Drop duplicate and contradictory points."
    ),
    input_type=ReviewPanel,
    output_type=EditorialBrief,
)


@executor(id="open_revision")
def open_revision(parts: list[BriefPart]) -> RevisionRound:
    """Fan-in of the panel and the brief: round 1 starts from the submitted draft."""
    panel = _one(parts, ReviewPanel)
    return RevisionRound(
        submission=panel.submission, brief=_one(parts, EditorialBrief), round=1, text=panel.submission.draft
    )


@executor(id="start_round")
def start_round(state: RevisionRound) -> RevisionRound:
    """The loop's entry: one node feeds the writer and the fan-in after it, whichever round this is."""
    return state


write_revision = Agent(
    "write_revision",
    instructions=(
        "You are the writer. Revise `text` following the editor's brief (`brief`) and, after the first "
        "round, the reviewer's `feedback`. Keep the author's voice and the strengths listed in `brief.keep`. "
        "Return the complete revised text and a short note per change."
    ),
    input_type=RevisionRound,
    output_type=Revision,
)


@executor(id="collect_revision")
def collect_revision(parts: list[RevisionPart]) -> RevisionRound:
    return _one(parts, RevisionRound).model_copy(update={"text": _one(parts, Revision).text})


review_revision = Agent(
    "review_revision",
    instructions=(
        "You are the reviewer. Check the revised `text` against the editor's brief. Approve it when every "
        "item of `brief.must_fix` is addressed; otherwise give the writer specific feedback."
    ),
    input_type=RevisionRound,
    output_type=Verdict,
)


@executor(id="judge_round")
def judge_round(parts: list[VerdictPart]) -> RoundResult:
    """The reviewer decides, except in the last allowed round, which is accepted so the loop ends."""
    state, verdict = _one(parts, RevisionRound), _one(parts, Verdict)
    last = state.round >= state.submission.max_rounds
    return RoundResult(
        state=state, verdict=verdict, accepted=verdict.approved or last, forced=last and not verdict.approved
    )


def revision_accepted(result: RoundResult) -> bool:
    return result.accepted


def needs_another_round(result: RoundResult) -> bool:
    return not result.accepted


@executor(id="next_round")
def next_round(result: RoundResult) -> RevisionRound:
    return result.state.model_copy(
        update={"round": result.state.round + 1, "feedback": result.verdict.feedback}
    )


Decision = ApprovalOutcome[RoundResult, ApprovalDecision]


@executor(id="publish")
def publish(outcome: Decision) -> ReviewResult:
    state = outcome.request.state
    return ReviewResult(
        title=state.submission.title,
        author=state.submission.author,
        status="published",
        rounds=state.round,
        forced=outcome.request.forced,
        text=state.text,
        slug=slugify(state.submission.title),
        comment=outcome.response.comment,
    )


@executor(id="shelve")
def shelve(outcome: Decision) -> ReviewResult:
    """Not published: the text is returned to the author with the approver's comment."""
    state = outcome.request.state
    return ReviewResult(
        title=state.submission.title,
        author=state.submission.author,
        status="rejected",
        rounds=state.round,
        forced=outcome.request.forced,
        text=state.text,
        comment=outcome.response.comment or "not approved for publication",
    )


def slugify(title: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in title.lower()).split()
    return "-".join(words)[:80].strip("-") or "untitled"


def _one(parts: Sequence[object], kind: type[T]) -> T:
    return next(p for p in parts if isinstance(p, kind))
