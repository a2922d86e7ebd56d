"""Sub-workflows in memory: a built workflow used as a node, its types checked, run nested."""

from __future__ import annotations

import pytest

from engine import InMemoryRunner, WorkflowBuilder, WorkflowValidationError, executor
from engine.core.subworkflow import SubWorkflow
from tests.durable import maps, subs


async def test_a_map_inside_a_sub_workflow() -> None:
    runner = InMemoryRunner([subs.map_inside])
    result = await runner.run(subs.map_inside, {"order_id": "o1", "lines": ["a-b", "c"]})
    assert result.status == "completed" and result.outputs == ["order done: a-b:2,c:1"]


async def test_a_sub_workflow_inside_a_map() -> None:
    runner = InMemoryRunner([subs.inside_map])
    orders = [{"order_id": f"o{i}", "lines": [f"l{i}", "x-y"]} for i in range(3)]
    result = await runner.run(subs.inside_map, orders)
    assert result.status == "completed"
    assert result.outputs == [" | ".join(f"order done: l{i}:1,x-y:2" for i in range(3))]


async def test_a_failing_child_fails_the_parent_naming_it() -> None:
    runner = InMemoryRunner([subs.map_inside])
    result = await runner.run(subs.map_inside, {"order_id": "o1", "lines": ["bad-line"]})
    assert result.status == "failed" and result.error is not None
    assert result.error.executor_id == "t_map" and result.error.type == "SubWorkflowFailed"
    assert "bad-line" in result.error.message


def test_a_sub_workflow_node_has_the_child_s_types_and_is_in_the_fingerprint() -> None:
    node = subs.map_inside.nodes["t_map"]
    assert isinstance(node, SubWorkflow) and node.kind == "workflow"
    assert node.input_type is maps.Batch and node.output_type is str


@executor(id="wants_int")
def wants_int(n: int) -> int:
    return n


def test_build_checks_the_types_around_a_sub_workflow() -> None:
    with pytest.raises(WorkflowValidationError, match="'t_map' emits str but 'wants_int' takes int"):
        builder = WorkflowBuilder("t_bad", start=subs.to_batch)
        builder.add_chain([subs.to_batch, maps.mapped, wants_int]).build()


def test_an_unbuilt_builder_is_refused_with_a_short_message() -> None:
    with pytest.raises(TypeError) as raised:
        WorkflowBuilder("t_bad", start=WorkflowBuilder("inner", start=wants_int))  # type: ignore[arg-type]
    assert "did you mean to call build()?" in str(raised.value) and len(str(raised.value)) < 200
