"""A workflow's version label and structural fingerprint: stable for the same graph, changed by any
change a run's history depends on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from engine import Approval, ApprovalDecision, WorkflowBuilder, WorkflowValidationError, executor

ROOT = Path(__file__).resolve().parents[2]


class Order(BaseModel):
    id: str
    amount: float


@executor
def receive(order: Order) -> Order:
    return order


@executor
def ship(order: Order) -> str:
    return order.id


@executor(id="ship")
def ship_v2(order: Order) -> int:
    return len(order.id)


def big(order: Order) -> bool:
    return order.amount > 100


def huge(order: Order) -> bool:
    return order.amount > 1000


def build(**changes: object):
    builder = WorkflowBuilder("orders", start=receive, version=changes.get("version"))  # type: ignore[arg-type]
    target = changes.get("target", ship)
    return builder.add_edge(receive, target, when=changes.get("when", big)).build()


def test_the_same_graph_has_the_same_fingerprint_and_a_derived_label() -> None:
    first, second = build(), build()
    assert first.fingerprint == second.fingerprint and len(first.fingerprint) == 16
    assert first.version == f"fp-{first.fingerprint[:8]}"


def test_an_explicit_label_is_kept_and_validated() -> None:
    assert build(version="3").version == "3"
    assert build(version="3").fingerprint == build().fingerprint
    with pytest.raises(WorkflowValidationError, match="invalid version"):
        build(version="no spaces please")


@pytest.mark.parametrize("change", ["type", "condition", "approval", "max_supersteps"])
def test_a_change_the_history_depends_on_changes_the_fingerprint(change: str) -> None:
    base = build().fingerprint
    if change == "type":
        changed = build(target=ship_v2).fingerprint
    elif change == "condition":
        changed = build(when=huge).fingerprint
    elif change == "approval":
        one = Approval("ask", request=Order, response=ApprovalDecision, approvers=["alice"])
        two = Approval("ask", request=Order, response=ApprovalDecision, approvers=["bob"])
        first = WorkflowBuilder("a", start=receive).add_edge(receive, one).build().fingerprint
        changed = WorkflowBuilder("a", start=receive).add_edge(receive, two).build().fingerprint
        base = first
    else:
        changed = (
            WorkflowBuilder("orders", start=receive, max_supersteps=7)
            .add_edge(receive, ship, when=big)
            .build()
            .fingerprint
        )
    assert changed != base


def test_the_fingerprint_is_the_same_in_another_process() -> None:
    code = "from workflows import ALL; print(' '.join(w.fingerprint for w in ALL))"
    here = " ".join(w.fingerprint for w in __import__("workflows").ALL)
    other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert other.stdout.strip() == here
