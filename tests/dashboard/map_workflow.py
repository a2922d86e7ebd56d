"""Maps for the dashboard's browser tests, served through the app's own ``WORKFLOW_MODULES``.

``map_gates``: each job of a list runs as one item, at most 4 at once; a job marked ``gate`` holds its
item until the test creates the file named after it in ``gates`` (so a test sees a map part way through),
a job marked ``fail`` fails for good and is collected as an ``ItemFailed``, a job marked ``flaky`` fails its
first attempt (its second, after a short retry timer, may then wait for its gate). ``map_signoff``: one
approval per page, each waiting for a person.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, Field

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
)

GATE_LIMIT_SECONDS = 120  # a gate nobody opens fails its item instead of holding the host forever


class Job(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    gate: bool = False
    fail: bool = False
    flaky: bool = False


class Jobs(BaseModel):
    gates: str = Field(description="a directory: a gated job runs once the file named after it exists there")
    jobs: list[Job] = Field(max_length=100)


class GatedJob(BaseModel):
    gates: str
    job: Job


class Tally(BaseModel):
    done: list[str]
    failed: list[int]


@executor(id="queue_jobs")
def queue_jobs(jobs: Jobs) -> Jobs:
    return jobs


def jobs_of(jobs: Jobs) -> list[GatedJob]:
    return [GatedJob(gates=jobs.gates, job=job) for job in jobs.jobs]


RETRY = RetryPolicy(max_attempts=2, first_interval=timedelta(milliseconds=200))


async def work(item: GatedJob, ctx: StepContext) -> str:
    job = item.job
    if job.fail:
        raise NonRetryableError(f"job {job.name} cannot run")
    if job.flaky and ctx.attempt == 1:
        raise RuntimeError(f"job {job.name}: the worker is busy")
    if job.gate:
        gate = Path(item.gates) / job.name
        deadline = time.monotonic() + GATE_LIMIT_SECONDS
        while not gate.exists():
            if time.monotonic() > deadline:
                raise NonRetryableError(f"the gate of job {job.name} was never opened")
            await asyncio.sleep(0.05)
    return job.name.upper()


def tally(results: list[str | ItemFailed]) -> Tally:
    return Tally(
        done=[r for r in results if isinstance(r, str)],
        failed=[r.index for r in results if isinstance(r, ItemFailed)],
    )


# A per-item node belongs to its map alone: each map of these workflows has its own pair.
@executor(id="run_job", retry=RETRY)
async def run_job(item: GatedJob, ctx: StepContext) -> str:
    return await work(item, ctx)


@executor(id="tally_jobs")
def tally_jobs(results: list[str | ItemFailed]) -> Tally:
    return tally(results)


gates = (
    WorkflowBuilder("map_gates", start=queue_jobs, description="Jobs as map items, some held by a gate file")
    .add_map(queue_jobs, run_job, collect=tally_jobs, items=jobs_of, max_parallel=4, on_item_error="collect")
    .build()
)


class Countdown(BaseModel):
    left: int = Field(ge=0, le=50)
    gates: str
    jobs: list[Job] = Field(max_length=100)


@executor(id="count_down")
def count_down(countdown: Countdown) -> Countdown:
    return countdown.model_copy(update={"left": countdown.left - 1})


def ticking(countdown: Countdown) -> bool:
    return countdown.left > 0


def released(countdown: Countdown) -> bool:
    return countdown.left == 0


@executor(id="release_jobs")
def release_jobs(countdown: Countdown) -> Jobs:
    return Jobs(gates=countdown.gates, jobs=countdown.jobs)


@executor(id="run_late_job", retry=RETRY)
async def run_late_job(item: GatedJob, ctx: StepContext) -> str:
    return await work(item, ctx)


@executor(id="tally_late_jobs")
def tally_late_jobs(results: list[str | ItemFailed]) -> Tally:
    return tally(results)


# ``left`` supersteps of counting down before the map: with left = continue_every - 1 the map's items are
# delivered in the execution's last superstep and run in the next one, after the run has continued as new.
late = (
    WorkflowBuilder("map_late", start=count_down, description="A map after a countdown", max_supersteps=100)
    .add_edge(count_down, count_down, when=ticking)
    .add_edge(count_down, release_jobs, when=released)
    .add_map(release_jobs, run_late_job, collect=tally_late_jobs, items=jobs_of, max_parallel=2)
    .build()
)


class Pages(BaseModel):
    pages: list[str] = Field(max_length=50)


@executor(id="list_pages")
def list_pages(pages: Pages) -> list[str]:
    return pages.pages


page_approval = Approval(
    "page_approval", request=str, response=ApprovalDecision, description="A person approves one page"
)


@executor(id="count_approved")
def count_approved(outcomes: list[ApprovalOutcome[str, ApprovalDecision]]) -> dict[str, int]:
    return {"approved": sum(1 for o in outcomes if o.response.approved), "pages": len(outcomes)}


signoff = (
    WorkflowBuilder("map_signoff", start=list_pages, description="One approval per page, all at once")
    .add_map(list_pages, page_approval, collect=count_approved)
    .build()
)

ALL = [gates, signoff, late]
