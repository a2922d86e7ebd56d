"""Map workflows shared by the in-memory tests and the durable parity tests (``WORKFLOW_MODULES``)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from pydantic import BaseModel

from engine import (
    Approval,
    ApprovalDecision,
    ApprovalOutcome,
    ItemFailed,
    NonRetryableError,
    RetryPolicy,
    StepContext,
    WorkflowBuilder,
    executor,
    fail_run,
    respond_with,
)


class Batch(BaseModel):
    name: str
    docs: list[str]


class Review(BaseModel):
    doc: str
    words: int
    key: str


@executor(id="split")
def split(batch: Batch) -> list[str]:
    return batch.docs


@executor(id="review", retry=RetryPolicy(max_attempts=2, first_interval=timedelta(0)))
async def review(doc: str, ctx: StepContext) -> Review:
    if doc.startswith("bad"):
        raise NonRetryableError(f"cannot review {doc!r}")
    await asyncio.sleep(0.001 * (len(doc) % 3))  # items finish out of order
    return Review(doc=doc, words=len(doc.split("-")), key=ctx.idempotency_key)


@executor(id="summarize")
def summarize(reviews: list[Review]) -> str:
    return ",".join(f"{r.doc}:{r.words}" for r in reviews) or "(none)"


@executor(id="summarize_all")
def summarize_all(reviews: list[Review | ItemFailed]) -> str:
    return ",".join(f"{r.doc}" if isinstance(r, Review) else f"failed#{r.index}" for r in reviews)


@executor(id="pick_docs")
def pick_docs(batch: Batch) -> list[str]:
    return batch.docs


def the_docs(batch: Batch) -> list[str]:
    return batch.docs


@executor(id="intake")
def intake(batch: Batch) -> Batch:
    return batch


ask_each = Approval("ask_each", request=str, response=ApprovalDecision)


@executor(id="tally")
def tally(outcomes: list[ApprovalOutcome[str, ApprovalDecision]]) -> str:
    return ",".join(f"{o.request}={'yes' if o.response.approved else 'no'}" for o in outcomes)


mapped = WorkflowBuilder("t_map", start=split).add_map(split, review, collect=summarize).build()
collecting = (
    WorkflowBuilder("t_map_collect", start=pick_docs)
    .add_map(pick_docs, review, collect=summarize_all, on_item_error="collect", max_parallel=3)
    .build()
)
selected = (
    WorkflowBuilder("t_map_items", start=intake)
    .add_map(intake, review, collect=summarize, items=the_docs)
    .build()
)
approvals = WorkflowBuilder("t_map_approvals", start=split).add_map(split, ask_each, collect=tally).build()

limited = (
    WorkflowBuilder("t_map_limited", start=split)
    .add_map(split, review, collect=summarize, max_items=3)
    .build()
)


@executor(id="maybe")
def maybe(batch: Batch) -> str | None:
    return None if batch.name == "silent" else batch.name


@executor(id="always")
def always(batch: Batch) -> str:
    return batch.name.upper()


@executor(id="both")
def both(names: list[str]) -> str:
    return "+".join(names)


gap = (
    WorkflowBuilder("t_fan_in_gap", start=intake)
    .add_fan_out(intake, [maybe, always])
    .add_fan_in([maybe, always], both)
    .build()
)

ALL = [mapped, collecting, selected, approvals, limited, gap]


# --- per-step timeouts -----------------------------------------------------------------------------------


class Slow(BaseModel):
    key: str
    seconds: list[float]  # how long attempt n sleeps: seconds[n - 1]


LEDGER: dict[str, list[int]] = {}  # idempotency key -> attempts whose side effect was applied
FINISHED: list[int] = []  # attempts that ran to their end, abandoned ones included


@executor(
    id="sleepy",
    timeout=timedelta(milliseconds=300),
    retry=RetryPolicy(max_attempts=3, first_interval=timedelta(milliseconds=10)),
)
def sleepy(job: Slow, ctx: StepContext) -> str:
    time.sleep(job.seconds[min(ctx.attempt, len(job.seconds)) - 1])  # a thread: abandoned, it goes on
    FINISHED.append(ctx.attempt)
    # The side effect, de-duplicated by the step's idempotency key: an abandoned attempt that finishes
    # after its retry succeeded finds its effect already applied and does not apply it again.
    applied = LEDGER.setdefault(ctx.idempotency_key, [])
    if not applied:
        applied.append(ctx.attempt)
    return f"{job.key} done on attempt {ctx.attempt}"


timed = WorkflowBuilder("t_timeout", start=sleepy).build()

ALL.append(timed)


# --- partitioned maps ---------------------------------------------------------------------------------


@executor(id="keys_of")
def keys_of(reviews: list[Review | ItemFailed]) -> list[str]:
    return [r.key if isinstance(r, Review) else f"failed#{r.index}" for r in reviews]


# Small partitions, so a few hundred items make several; retries and collected failures inside them.
partitioned = (
    WorkflowBuilder("t_map_partitioned", start=pick_docs)
    .add_map(pick_docs, review, collect=keys_of, on_item_error="collect", max_parallel=40, partition_size=50)
    .build()
)
# The default partition size (from the review step's retry policy), for the history bound.
large = WorkflowBuilder("t_map_large", start=split).add_map(split, review, collect=summarize).build()

ALL += [partitioned, large]
partitioned_fail = (
    WorkflowBuilder("t_map_partitioned_fail", start=split)
    .add_map(split, review, collect=summarize, partition_size=10)
    .build()
)
ALL.append(partitioned_fail)


# --- approvals per item, asked in partitions ---------------------------------------------------------------

ask_part = Approval("ask_part", request=str, response=ApprovalDecision)
approvals_in_parts = (
    WorkflowBuilder("t_map_approvals_parts", start=split)
    .add_map(split, ask_part, collect=tally, partition_size=4)
    .build()
)
# Unanswered by its deadline, an item's request takes the default answer (no): in its partition too.
ask_soon = Approval(
    "ask_soon",
    request=str,
    response=ApprovalDecision,
    timeout=timedelta(seconds=2),
    on_timeout=respond_with({"approved": False, "comment": "no answer"}),
)
approvals_expiring = (
    WorkflowBuilder("t_map_approvals_expiring", start=split)
    .add_map(split, ask_soon, collect=tally, partition_size=2)
    .build()
)
ask_or_fail = Approval(
    "ask_or_fail", request=str, response=ApprovalDecision, timeout=timedelta(seconds=2), on_timeout=fail_run()
)
approvals_failing = (
    WorkflowBuilder("t_map_approvals_failing", start=split)
    .add_map(split, ask_or_fail, collect=tally, partition_size=2)
    .build()
)
# The default partition size for approvals (100): a map of 250 asks in three partitions.
ask_many = Approval("ask_many", request=str, response=ApprovalDecision)
approvals_large = (
    WorkflowBuilder("t_map_approvals_large", start=split).add_map(split, ask_many, collect=tally).build()
)
ALL += [approvals_in_parts, approvals_expiring, approvals_failing, approvals_large]


# A run that fails while its map's partitions wait for people: another request passes its deadline.
ask_leaky = Approval("ask_leaky", request=str, response=ApprovalDecision)
quick_gate = Approval(
    "quick_gate",
    request=Batch,
    response=ApprovalDecision,
    timeout=timedelta(seconds=1),
    on_timeout=fail_run(),
)


@executor(id="split_again")
def split_again(batch: Batch) -> list[str]:
    return batch.docs


approvals_and_failure = (
    WorkflowBuilder("t_map_approvals_and_failure", start=intake)
    .add_fan_out(intake, [split_again, quick_gate])
    .add_map(split_again, ask_leaky, collect=tally, partition_size=2)
    .build()
)
ALL.append(approvals_and_failure)
