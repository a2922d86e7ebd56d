"""Workflows used by the durable end-to-end tests, loaded into the project's app via WORKFLOW_MODULES."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from engine import (
    Approval,
    ApprovalDecision,
    ApprovalOutcome,
    Case,
    RetryPolicy,
    StepContext,
    Workflow,
    WorkflowBuilder,
    executor,
    respond_with,
)
from engine.core.executor import FunctionExecutor


class Number(BaseModel):
    value: int = Field(ge=0, le=1_000_000)


class Count(BaseModel):
    left: int
    rounds: int = 0


@executor(id="add_one")
def add_one(n: Number) -> Number:
    return Number(value=n.value + 1)


@executor(id="double")
async def double(n: Number) -> Number:
    return Number(value=n.value * 2)


@executor(id="to_text")
def to_text(n: Number) -> str:
    return f"result={n.value}"


chain = WorkflowBuilder("t_chain", start=add_one).add_chain([add_one, double, to_text]).build()


def _squarer(i: int) -> FunctionExecutor:
    def square_plus(n: Number) -> int:
        return n.value * n.value + i

    return executor(square_plus, id=f"sq_{i}")


@executor(id="spread")
def spread(n: Number) -> Number:
    return n


@executor(id="total")
def total(parts: list[int]) -> dict[str, int]:
    return {"count": len(parts), "sum": sum(parts), "first": parts[0], "last": parts[-1]}


def fan(name: str, width: int) -> Workflow:
    squares = [_squarer(i) for i in range(width)]
    return (
        WorkflowBuilder(name, start=spread, max_supersteps=10)
        .add_fan_out(spread, squares)
        .add_fan_in(squares, total)
        .build()
    )


fan50 = fan("t_fan50", 50)
fan500 = fan("t_fan500", 500)


@executor(id="classify")
def classify(n: Number) -> Number:
    return n


@executor(id="small")
def small(n: Number) -> str:
    return "small"


@executor(id="medium")
def medium(n: Number) -> str:
    return "medium"


@executor(id="large")
def large(n: Number) -> str:
    return "large"


switch = (
    WorkflowBuilder("t_switch", start=classify)
    .add_switch(
        classify,
        [Case(lambda n: n.value < 10, small), Case(lambda n: n.value < 100, medium)],
        default=large,
    )
    .build()
)


@executor(id="start_count")
def start_count(n: Number) -> Count:
    return Count(left=n.value)


@executor(id="tick")
def tick(c: Count) -> Count:
    return Count(left=c.left - 1, rounds=c.rounds + 1)


@executor(id="finished")
def finished(c: Count) -> Count:
    return c


def not_done(c: Count) -> bool:
    return c.left > 0


def done(c: Count) -> bool:
    return c.left <= 0


loop = (
    WorkflowBuilder("t_loop", start=start_count, max_supersteps=700)
    .add_edge(start_count, tick)
    .add_edge(tick, tick, when=not_done)
    .add_edge(tick, finished, when=done)
    .build()
)


class Request(BaseModel):
    item: str
    amount: float


ask = Approval(
    "ask",
    request=Request,
    response=ApprovalDecision,
    timeout=timedelta(hours=72),
    on_timeout=respond_with({"approved": False, "comment": "no answer in time"}),
)


@executor(id="prepare")
def prepare(r: Request) -> Request:
    return r


@executor(id="record")
def record(outcome: ApprovalOutcome[Request, ApprovalDecision]) -> dict[str, object]:
    return {
        "item": outcome.request.item,
        "approved": outcome.response.approved,
        "comment": outcome.response.comment,
        "via": outcome.via,
        "timed_out": outcome.timed_out,
        "decided_by": outcome.decided_by,
    }


approval = WorkflowBuilder("t_approval", start=prepare).add_edge(prepare, ask).add_edge(ask, record).build()


class Flaky(BaseModel):
    key: str


ATTEMPTS: dict[str, int] = {}


@executor(id="always_fails", retry=RetryPolicy(max_attempts=3, first_interval=timedelta(milliseconds=10)))
def always_fails(f: Flaky, ctx: StepContext) -> str:
    ATTEMPTS[f.key] = ctx.attempt
    raise RuntimeError(f"boom on attempt {ctx.attempt}")


failing = WorkflowBuilder("t_failing", start=always_fails).build()


@executor(id="flaky_once", retry=RetryPolicy(max_attempts=3, first_interval=timedelta(milliseconds=10)))
def flaky_once(f: Flaky, ctx: StepContext) -> str:
    if ctx.attempt < 2:
        raise RuntimeError("transient")
    return f"ok after {ctx.attempt}"


retried = WorkflowBuilder("t_retried", start=flaky_once).build()


class Nap(BaseModel):
    seconds: float = Field(ge=0, le=30)
    width: int = Field(default=1, ge=1, le=20)


@executor(id="nap_start")
def nap_start(n: Nap) -> Nap:
    return n


def _napper(i: int) -> FunctionExecutor:
    def nap(n: Nap) -> int:
        time.sleep(n.seconds)
        return i

    return executor(nap, id=f"nap_{i}")


nappers = [_napper(i) for i in range(4)]


@executor(id="naps_done")
def naps_done(parts: list[int]) -> list[int]:
    return parts


slow = (
    WorkflowBuilder("t_slow", start=nap_start)
    .add_fan_out(nap_start, nappers)
    .add_fan_in(nappers, naps_done)
    .build()
)

ALL = [chain, fan50, fan500, switch, loop, approval, failing, retried, slow]


ask_first = Approval("ask_first", request=Request, response=ApprovalDecision)
ask_second = Approval("ask_second", request=Request, response=ApprovalDecision)


@executor(id="again")
def again(outcome: ApprovalOutcome[Request, ApprovalDecision]) -> Request:
    return outcome.request


two_approvals = (
    WorkflowBuilder("t_two_approvals", start=prepare)
    .add_chain([prepare, ask_first, again, ask_second, record])
    .build()
)
ALL.append(two_approvals)


gated = Approval("gated", request=Request, response=ApprovalDecision, approvers=["alice", "finance"])
restricted = WorkflowBuilder("t_restricted", start=prepare).add_chain([prepare, gated, record]).build()
ALL.append(restricted)


class Blob(BaseModel):
    text: str = Field(max_length=2_000_000)
    repeat: int = Field(default=1, ge=1, le=100)


@executor(id="inflate")
def inflate(b: Blob) -> Blob:
    return Blob(text=b.text * b.repeat)


@executor(id="measure")
def measure(b: Blob) -> int:
    return len(b.text)


big = WorkflowBuilder("t_big", start=inflate).add_edge(inflate, measure).build()
ALL.append(big)


def many_approvals(name: str, width: int) -> Workflow:
    """A static fan-out to ``width`` approval nodes: all of them open at once, in one superstep."""
    asks = [Approval(f"ask_{i}", request=Request, response=ApprovalDecision) for i in range(width)]
    return WorkflowBuilder(name, start=prepare, max_supersteps=10).add_fan_out(prepare, asks).build()


ALL += [many_approvals("t_approvals_50", 50), many_approvals("t_approvals_1000", 1000)]


class Priority(StrEnum):
    low = "low"
    high = "high"


class Schedule(BaseModel):
    """A response whose JSON form has strings for non-string types: strict mode still reads them."""

    when: datetime
    priority: Priority
    approved: bool


schedule = Approval("schedule", request=Request, response=Schedule)


@executor(id="scheduled")
def scheduled(outcome: ApprovalOutcome[Request, Schedule]) -> dict[str, object]:
    return {"when": outcome.response.when.isoformat(), "priority": outcome.response.priority.value}


ALL.append(WorkflowBuilder("t_schedule", start=prepare).add_chain([prepare, schedule, scheduled]).build())
