"""Mermaid rendering: nodes, edge kinds, approval hexagons, state classes."""

from datetime import timedelta

from engine import Approval, Case, WorkflowBuilder, escalate_to, executor
from engine.core.viz import STATE_STYLES


@executor
def intake(n: int) -> int:
    return n


@executor
def left(n: int) -> int:
    return n


@executor
def right(n: int) -> int:
    return n


@executor
def join(ns: list[int]) -> int:
    return sum(ns)


@executor
def small(n: int) -> int:
    return n


@executor
def large(n: int) -> int:
    return n


@executor
def done(o: object) -> str:
    return "done"


def is_large(n: int) -> bool:
    return n > 10


boss = Approval("boss", request=int)
review = Approval("review", request=int, timeout=timedelta(hours=1), on_timeout=escalate_to(boss))


def workflow():
    return (
        WorkflowBuilder("viz", start=intake)
        .add_fan_out(intake, [left, right])
        .add_fan_in([left, right], join)
        .add_switch(join, [Case(is_large, large)], default=small)
        .add_edge(small, review, when=lambda n: n > 0)
        .add_edge(large, review, when=is_large)
        .add_chain([review, done])
        .add_edge(boss, done)
        .build()
    )


def test_nodes_and_shapes() -> None:
    text = workflow().to_mermaid()
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    intake(["intake"])' in lines  # the start node
    assert '    left["left"]' in lines
    assert '    join["join"]' in lines
    assert '    review{{"✋ review"}}' in lines  # approvals are hexagons
    assert '    boss{{"✋ boss"}}' in lines


def test_edge_kinds() -> None:
    lines = workflow().to_mermaid().splitlines()
    assert '    intake == "fan-out" ==> left' in lines
    assert '    intake == "fan-out" ==> right' in lines
    assert '    left == "fan-in" ==> join' in lines
    assert '    right == "fan-in" ==> join' in lines
    assert '    join -. "is_large" .-> large' in lines  # switch case, labelled by predicate name
    assert '    join -. "default" .-> small' in lines
    assert '    small -. "when" .-> review' in lines  # a lambda condition
    assert '    large -. "is_large" .-> review' in lines
    assert "    review --> done" in lines  # plain edge from a chain
    assert '    review -. "timeout: escalate" .-> boss' in lines


def test_without_states_there_are_no_classes() -> None:
    assert "classDef" not in workflow().to_mermaid()


def test_state_classes() -> None:
    text = workflow().to_mermaid(
        {"intake": "done", "left": "done", "right": "running", "review": "waiting", "ghost": "done", "x": "?"}
    )
    lines = text.splitlines()
    assert f"    classDef done {STATE_STYLES['done']}" in lines
    assert "    class intake,left done" in lines  # unknown nodes are left out
    assert f"    classDef running {STATE_STYLES['running']}" in lines
    assert "    class right running" in lines
    assert "    class review waiting" in lines
    assert "classDef failed" not in text  # no member, no class
    assert "ghost" not in text
    assert "?" not in text
