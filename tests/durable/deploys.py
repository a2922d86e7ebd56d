"""The deploy campaign's workflows: one base graph, and one changed deploy of it per kind of change.

Each kind of change has its own workflow name (``t_dep_<kind>``), so one app serves the whole campaign.
Version 1 of every one is the base graph::

    intake -> (left | right) -> join -> count (loops while n < 3) -> check -> ask (approval) -> finish

Runs pause where their input says (``pause_at``): inside the fan-out (``left``), mid-loop (the second
``count``), in the step before the approval (``check``), or at the approval. A paused step refuses with a
``TransientError`` (its retries are durable timers) until the file ``release-<key>`` exists in the
folder ``DEPLOY_CAMPAIGN_GATES`` names; it writes ``held-<key>`` there when it first refuses.

``deploys_v1`` serves version 1 of each; ``deploys_kept`` serves version 1 beside the changed one;
``deploys_dropped`` serves the changed one alone.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from engine import (
    Approval,
    ApprovalDecision,
    ApprovalOutcome,
    RetryPolicy,
    StepContext,
    TransientError,
    Workflow,
    WorkflowBuilder,
    executor,
)

Pause = Literal["none", "fan", "loop", "step", "approval"]
KINDS = ("added", "removed", "renamed", "type_changed", "condition_changed", "timeout_changed", "same_shape")
POINTS: tuple[Pause, ...] = ("fan", "loop", "step", "approval")
GATED = RetryPolicy(max_attempts=10_000, first_interval=timedelta(milliseconds=400), backoff_coefficient=1.0)


class Order(BaseModel):
    key: str
    value: int
    pause_at: Pause = "none"


class Part(BaseModel):
    key: str
    amount: int
    pause_at: Pause


class Counter(BaseModel):
    key: str
    value: int
    n: int
    pause_at: Pause


class Summary(BaseModel):
    summary: str


def _hold(key: str, pause_at: Pause, here: Pause) -> None:
    """Refuse (for another attempt later) while this run is to pause here and is not released yet."""
    if pause_at != here:
        return
    gates = Path(os.environ["DEPLOY_CAMPAIGN_GATES"])
    if not (gates / f"release-{key}").exists():
        (gates / f"held-{key}").touch()
        raise TransientError(f"run {key} is held at {here}")


@executor(id="intake")
def intake(order: Order) -> Order:
    return order


@executor(id="left", retry=GATED)
def left(order: Order, ctx: StepContext) -> Part:
    _hold(order.key, order.pause_at, "fan")
    return Part(key=order.key, amount=order.value * 2, pause_at=order.pause_at)


@executor(id="right")
def right(order: Order) -> Part:
    return Part(key=order.key, amount=order.value * 3, pause_at=order.pause_at)


@executor(id="join")
def join(parts: list[Part]) -> Counter:
    return Counter(key=parts[0].key, value=sum(p.amount for p in parts), n=0, pause_at=parts[0].pause_at)


@executor(id="count", retry=GATED)
def count(c: Counter, ctx: StepContext) -> Counter:
    if c.n == 1:
        _hold(c.key, c.pause_at, "loop")
    return c.model_copy(update={"n": c.n + 1, "value": c.value + 1})


def more(c: Counter) -> bool:
    return c.n < 3


def done(c: Counter) -> bool:
    return c.n >= 3


def more_than_four(c: Counter) -> bool:
    return c.n < 4


def done_at_four(c: Counter) -> bool:
    return c.n >= 4


def _more_changed(c: Counter) -> bool:
    return c.n < 2


def _done_changed(c: Counter) -> bool:
    return c.n >= 2


# A change that keeps the fingerprint: the conditions keep their names (module and qualified name),
# only their bodies changed. Only the step identity check and replay-check can see it.
_more_changed.__qualname__ = _more_changed.__name__ = "more"
_done_changed.__qualname__ = _done_changed.__name__ = "done"


def _checked(c: Counter) -> Counter:
    _hold(c.key, c.pause_at, "step")
    return c.model_copy(update={"value": c.value * 10})


@executor(id="check", retry=GATED)
def check(c: Counter, ctx: StepContext) -> Counter:
    return _checked(c)


@executor(id="verify", retry=GATED)
def verify(c: Counter, ctx: StepContext) -> Counter:
    return _checked(c)  # check renamed: the same work under another id


@executor(id="audit")
def audit(c: Counter) -> Counter:
    return c.model_copy(update={"value": c.value + 1000})


ask = Approval("ask", request=Counter, response=ApprovalDecision, timeout=timedelta(hours=1))
ask_longer = Approval("ask", request=Counter, response=ApprovalDecision, timeout=timedelta(hours=2))


@executor(id="finish")
def finish(outcome: ApprovalOutcome[Counter, ApprovalDecision]) -> str:
    c = outcome.request
    return f"{c.key}:{c.value}:{c.n}:{outcome.response.approved}"


@executor(id="finish")
def finish_typed(outcome: ApprovalOutcome[Counter, ApprovalDecision]) -> Summary:
    c = outcome.request
    return Summary(summary=f"{c.key}:{c.value}:{c.n}:{outcome.response.approved}")


def build(kind: str, version: str) -> Workflow:
    """``t_dep_<kind>`` as deploy ``version`` ships it: "1" is the base graph, "2" the changed one (for
    ``same_shape`` the change ships as "1" again: its fingerprint did not change)."""
    changed = version == "2" or (kind == "same_shape" and version == "1-changed")
    label = "1" if kind == "same_shape" else version
    middle = check
    loop, leave = more, done
    tail: list = [ask, finish]
    if changed:
        if kind == "renamed":
            middle = verify
        elif kind == "condition_changed":
            loop, leave = more_than_four, done_at_four
        elif kind == "same_shape":
            loop, leave = _more_changed, _done_changed
        elif kind == "timeout_changed":
            tail = [ask_longer, finish]
        elif kind == "type_changed":
            tail = [ask, finish_typed]
    builder = (
        WorkflowBuilder(f"t_dep_{kind}", start=intake, version=label)
        .add_fan_out(intake, [left, right])
        .add_fan_in([left, right], join)
        .add_edge(join, count)
        .add_edge(count, count, when=loop)
    )
    if changed and kind == "removed":
        return builder.add_edge(count, tail[0], when=leave).add_chain(tail).build()
    if changed and kind == "added":
        return builder.add_edge(count, middle, when=leave).add_chain([middle, audit, *tail]).build()
    return builder.add_edge(count, middle, when=leave).add_chain([middle, *tail]).build()


def v1() -> list[Workflow]:
    return [build(kind, "1") for kind in KINDS]


def changed() -> list[Workflow]:
    return [build(kind, "1-changed" if kind == "same_shape" else "2") for kind in KINDS]


def kept() -> list[Workflow]:
    """Version 1 kept beside the changed deploy (for ``same_shape``, whose change has the same label
    and fingerprint, keeping the old version means the old code)."""
    out = []
    for kind in KINDS:
        out.append(build(kind, "1"))
        if kind != "same_shape":
            out.append(build(kind, "2"))
    return out
