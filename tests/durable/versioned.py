"""Two versions of one workflow, as two deploys would ship them (loaded through WORKFLOW_MODULES).

Version 1 is ``prepare -> times_ten -> ask -> finish``; version 2 replaced ``times_ten`` with
``times_hundred``. ``tests.durable.versioned`` serves both (the old one kept beside the new);
``tests.durable.versioned_v1`` and ``tests.durable.versioned_v2`` serve one each.
"""

from __future__ import annotations

from pydantic import BaseModel

from engine import Approval, ApprovalDecision, ApprovalOutcome, Workflow, WorkflowBuilder, executor


class Amount(BaseModel):
    value: int


@executor(id="prepare")
def prepare(a: Amount) -> Amount:
    return a


@executor(id="times_ten")
def times_ten(a: Amount) -> Amount:
    return Amount(value=a.value * 10)


@executor(id="times_hundred")
def times_hundred(a: Amount) -> Amount:
    return Amount(value=a.value * 100)


ask = Approval("ask", request=Amount, response=ApprovalDecision)


@executor(id="finish")
def finish(outcome: ApprovalOutcome[Amount, ApprovalDecision]) -> str:
    return f"final:{outcome.request.value}"


def deploy(version: str) -> Workflow:
    middle = times_ten if version == "1" else times_hundred
    return (
        WorkflowBuilder("t_deploy", start=prepare, version=version)
        .add_chain([prepare, middle, ask, finish])
        .build()
    )


ALL = [deploy("1"), deploy("2")]
