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


async def test_an_approval_inside_a_sub_workflow_is_the_parent_s_to_answer() -> None:
    runner = InMemoryRunner([subs.approval_inside])
    paused = await runner.run(subs.approval_inside, "ship it?", instance_id="p1")
    assert paused.status == "waiting_for_approval"
    (asked,) = paused.pending_approvals
    assert asked.run == "p1:t_sub_asking_child:2:0" and asked.request_id.startswith(f"{asked.run}/")
    assert asked.approval_id == "child_ok" and asked.request == {"what": "ship it?"}
    # A paused parent (its child's state inside) goes through JSON like any paused run.
    done = await runner.resume(paused.state.model_dump_json(), {asked.request_id: {"approved": True}})
    assert done.status == "completed" and done.outputs == ["parent got ship it?: yes"]


async def test_answers_for_a_child_are_validated_strictly_and_unknown_ones_refused() -> None:
    from engine import ApprovalResponseError

    runner = InMemoryRunner([subs.approval_inside])
    paused = await runner.run(subs.approval_inside, "x", instance_id="p2")
    (asked,) = paused.pending_approvals
    with pytest.raises(ApprovalResponseError) as bad:
        await runner.resume(paused.state, {asked.request_id: {"approved": "yes"}})
    assert bad.value.request_id == asked.request_id
    with pytest.raises(ApprovalResponseError):
        await runner.resume(paused.state, {"p2:nobody:9:9/req": {"approved": True}})
