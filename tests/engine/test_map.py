"""Maps in memory: one step per item of a list known at run time, gathered in item order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

from engine import InMemoryRunner, ItemFailed, RunState, WorkflowBuilder, WorkflowValidationError, executor
from tests.durable import maps


async def run(workflow: Any, body: Any, answers: dict[str, Any] | None = None) -> Any:
    runner = InMemoryRunner([workflow])
    result = await runner.run(workflow, body)
    while result.status == "waiting_for_approval" and answers is not None:
        replies = {p.request_id: answers[p.request] for p in result.pending_approvals}
        result = await runner.resume(result.state.model_dump_json(), replies)
    return result


async def test_each_item_runs_once_and_the_collector_gets_them_in_item_order() -> None:
    docs = [f"d{i}-{'x' * (i % 5)}" for i in range(50)]
    result = await run(maps.mapped, {"name": "b", "docs": docs})
    assert result.status == "completed"
    assert result.outputs == [",".join(f"{d}:2" for d in docs)]
    started = [e for e in result.events if e.kind == "executor_started" and e.executor_id == "review"]
    assert len(started) == 50 and {e.superstep for e in started} == {2}


async def test_an_empty_list_gives_the_collector_an_empty_list() -> None:
    result = await run(maps.mapped, {"name": "b", "docs": []})
    assert result.status == "completed" and result.outputs == ["(none)"]


async def test_a_thousand_items() -> None:
    docs = [f"doc{i}" for i in range(1000)]
    result = await run(maps.mapped, {"name": "b", "docs": docs})
    assert result.outputs == [",".join(f"{d}:1" for d in docs)]


async def test_each_item_has_its_own_stable_idempotency_key() -> None:
    captured: list[str] = []

    @executor(id="keep")
    def keep(reviews: list[maps.Review]) -> str:
        captured.extend(r.key for r in reviews)
        return "ok"

    wf = WorkflowBuilder("t_keys", start=maps.split).add_map(maps.split, maps.review, collect=keep).build()
    await run(wf, {"name": "b", "docs": ["a", "b", "c"]}, None)
    first = list(captured)
    captured.clear()
    runner = InMemoryRunner([wf])
    await runner.run(wf, {"name": "b", "docs": ["a", "b", "c"]}, instance_id="same")
    again = list(captured)
    captured.clear()
    await runner.run(wf, {"name": "b", "docs": ["a", "b", "c"]}, instance_id="same")
    assert len(set(first)) == 3 and again == captured


async def test_an_item_that_fails_for_good_fails_the_run_by_default() -> None:
    result = await run(maps.mapped, {"name": "b", "docs": ["ok", "bad-one", "fine"]})
    assert result.status == "failed" and result.error is not None
    assert result.error.executor_id == "review" and "bad-one" in result.error.message


async def test_collect_hands_the_collector_a_typed_failure_in_the_item_s_place() -> None:
    result = await run(maps.collecting, {"name": "b", "docs": ["ok", "bad-one", "fine"]})
    assert result.status == "completed" and result.outputs == ["ok,failed#1,fine"]


async def test_max_parallel_bounds_how_many_items_execute_at_once() -> None:
    running = 0
    peak = 0

    @executor(id="slow")
    async def slow(doc: str) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return doc

    @executor(id="join_docs")
    def join_docs(docs: list[str]) -> str:
        return "".join(docs)

    wf = (
        WorkflowBuilder("t_bounded", start=maps.split)
        .add_map(maps.split, slow, collect=join_docs, max_parallel=3)
        .build()
    )
    result = await run(wf, {"name": "b", "docs": list("abcdefghij")})
    assert result.outputs == ["abcdefghij"] and peak == 3


async def test_items_can_be_selected_from_the_source_s_output() -> None:
    result = await run(maps.selected, {"name": "b", "docs": ["a-b", "c"]})
    assert result.outputs == ["a-b:2,c:1"]


async def test_one_approval_per_item_each_with_its_own_request_and_a_paused_run_resumes() -> None:
    runner = InMemoryRunner([maps.approvals])
    result = await runner.run(maps.approvals, {"name": "b", "docs": ["x", "y", "z"]})
    pending = result.pending_approvals
    assert [p.request for p in pending] == ["x", "y", "z"] and len({p.request_id for p in pending}) == 3
    # Answer one, carry the paused run as JSON (as a process would), then answer the rest.
    first = await runner.resume(result.state.model_dump_json(), {pending[1].request_id: {"approved": False}})
    assert first.status == "waiting_for_approval" and len(first.pending_approvals) == 2
    state = RunState.model_validate_json(first.state.model_dump_json())
    assert next(iter(state.maps.values())).count == 3
    rest = {p.request_id: {"approved": True} for p in first.pending_approvals}
    done = await runner.resume(state, rest)
    assert done.status == "completed" and done.outputs == ["x=yes,y=no,z=yes"]


class Doc(BaseModel):
    text: str


@executor(id="doc_source")
def doc_source(n: int) -> list[Doc]:
    return [Doc(text=str(i)) for i in range(n)]


@executor(id="takes_str")
def takes_str(s: str) -> str:
    return s


@executor(id="takes_doc")
def takes_doc(d: Doc) -> int:
    return len(d.text)


@executor(id="sums")
def sums(values: list[int]) -> int:
    return sum(values)


@executor(id="one")
def one(n: int) -> int:
    return n


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (
            lambda: WorkflowBuilder("t1", start=doc_source).add_map(doc_source, takes_str, collect=sums),
            "'doc_source' emits list[Doc] but 'takes_str' takes str",
        ),
        (
            lambda: WorkflowBuilder("t2", start=one).add_map(one, takes_doc, collect=sums),
            "'one' emits int, not a list",
        ),
        (
            lambda: WorkflowBuilder("t3", start=doc_source).add_map(doc_source, takes_doc, collect=one),
            "'one' takes int, not a list",
        ),
        (
            lambda: WorkflowBuilder("t4", start=doc_source).add_map(
                doc_source, takes_doc, collect=sums, on_item_error="collect"
            ),
            "must take ItemFailed",
        ),
        (
            lambda: (
                WorkflowBuilder("t5", start=doc_source)
                .add_map(doc_source, takes_doc, collect=sums)
                .add_edge(takes_doc, one)
            ),
            "cannot take part in other edges",
        ),
        (
            lambda: WorkflowBuilder("t6", start=doc_source).add_map(
                doc_source, takes_doc, collect=sums, max_parallel=0
            ),
            "max_parallel must be at least 1",
        ),
    ],
)
def test_build_checks_a_map_s_types_and_shape(build: Any, expected: str) -> None:
    with pytest.raises(WorkflowValidationError) as raised:
        build().build()
    assert expected in str(raised.value)


def test_a_map_is_part_of_the_fingerprint_and_the_graph() -> None:
    a = WorkflowBuilder("t", start=doc_source).add_map(doc_source, takes_doc, collect=sums).build()
    b = (
        WorkflowBuilder("t", start=doc_source)
        .add_map(doc_source, takes_doc, collect=sums, max_parallel=2)
        .build()
    )
    assert a.fingerprint != b.fingerprint
    assert "map: each item" in a.to_mermaid()
    assert isinstance(ItemFailed(index=0, error={"type": "X", "message": "m"}), ItemFailed)
