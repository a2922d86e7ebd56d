"""A paused run is JSON: it resumes in a fresh runner, with fan-in buffers and outputs intact."""

import json
from datetime import date, timedelta

import pytest
from pydantic import BaseModel

from engine import (
    Approval,
    ApprovalDecision,
    ApprovalOutcome,
    InMemoryRunner,
    ManualClock,
    RunState,
    StepContext,
    WorkflowBuilder,
    executor,
)
from tests.engine.helpers import T0, started


class Quote(BaseModel):
    supplier: str
    price: float
    valid_until: date


class Note(BaseModel):
    by: str
    text: str


keys: list[tuple[str, str]] = []


@executor
def request_quote(q: Quote) -> Quote:
    return q


@executor
def fast_check(q: Quote, ctx: StepContext) -> Note:
    keys.append((ctx.executor_id, ctx.idempotency_key))
    return Note(by="fast_check", text=f"{q.supplier} until {q.valid_until.isoformat()}")


@executor
def early_output(q: Quote) -> Quote:
    return q.model_copy(update={"price": q.price * 2})


sign_off = Approval("sign_off", request=Quote, response=ApprovalDecision, timeout=timedelta(hours=8))


@executor
def after_sign_off(o: ApprovalOutcome[Quote, ApprovalDecision], ctx: StepContext) -> Note:
    keys.append((ctx.executor_id, ctx.idempotency_key))
    return Note(by="sign_off", text="yes" if o.response.approved else "no")


@executor
def merge(notes: list[Note]) -> str:
    assert all(isinstance(n, Note) for n in notes)
    return "; ".join(f"{n.by}: {n.text}" for n in notes)


def quote_workflow():
    return (
        WorkflowBuilder("quotes", start=request_quote)
        .add_fan_out(request_quote, [fast_check, sign_off, early_output])
        .add_edge(sign_off, after_sign_off)
        .add_fan_in([after_sign_off, fast_check], merge)
        .build()
    )


QUOTE = {"supplier": "acme", "price": 12.5, "valid_until": "2030-02-01"}


@pytest.fixture(autouse=True)
def _clear_keys() -> None:
    keys.clear()


async def test_pause_dump_json_resume_in_a_fresh_runner(clock: ManualClock) -> None:
    wf = quote_workflow()
    paused = await InMemoryRunner(clock=clock).run(wf, QUOTE, instance_id="q-1")
    assert paused.status == "waiting_for_approval"
    dumped = paused.state.model_dump_json()

    data = json.loads(dumped)
    assert data["status"] == "waiting_for_approval"
    assert data["superstep"] == 2
    # fast_check's note waits in the fan-in buffer for the branch through the approval
    assert data["fan_in"] == {"0": {"fast_check": [{"by": "fast_check", "text": "acme until 2030-02-01"}]}}
    assert data["outputs"] == [
        {
            "source": "early_output",
            "message": {"supplier": "acme", "price": 25.0, "valid_until": "2030-02-01"},
        }
    ]
    assert [a["request_id"] for a in data["approvals"]] == ["sign_off-s2-0"]
    assert data["approvals"][0]["deadline"] == (T0 + timedelta(hours=8)).isoformat().replace("+00:00", "Z")

    fresh = InMemoryRunner([wf], clock=ManualClock(T0 + timedelta(hours=1)))
    done = await fresh.resume(dumped, {"sign_off-s2-0": {"approved": True}})

    assert done.status == "completed", done.error
    assert done.instance_id == "q-1"
    assert done.outputs == [
        Quote(supplier="acme", price=25.0, valid_until=date(2030, 2, 1)),  # typed again after JSON
        "sign_off: yes; fast_check: acme until 2030-02-01",  # source order of the fan-in
    ]
    assert done.state.fan_in == {}
    assert started(done) == ["after_sign_off", "merge"]
    assert done.state.superstep == 4


async def test_resume_from_a_dict_with_the_workflow_passed(clock: ManualClock) -> None:
    wf = quote_workflow()
    paused = await InMemoryRunner(clock=clock).run(wf, QUOTE)
    as_dict = json.loads(paused.state.model_dump_json())
    done = await InMemoryRunner(clock=clock).resume(
        as_dict, {"sign_off-s2-0": {"approved": False}}, workflow=wf
    )
    assert done.outputs[-1] == "sign_off: no; fast_check: acme until 2030-02-01"


async def test_json_round_trip_is_lossless(clock: ManualClock) -> None:
    paused = await InMemoryRunner(clock=clock).run(quote_workflow(), QUOTE)
    dumped = paused.state.model_dump_json()
    assert RunState.model_validate_json(dumped) == paused.state
    assert RunState.model_validate_json(dumped).model_dump_json() == dumped


async def test_idempotency_keys_survive_the_pause(clock: ManualClock) -> None:
    """A resumed run continues the superstep numbering, so replays of a step keep their key."""
    wf = quote_workflow()
    first = await InMemoryRunner(clock=clock).run(wf, QUOTE, instance_id="q-7")
    dumped = first.state.model_dump_json()
    await InMemoryRunner([wf], clock=clock).resume(dumped, {"sign_off-s2-0": {"approved": True}})
    await InMemoryRunner([wf], clock=clock).resume(dumped, {"sign_off-s2-0": {"approved": True}})
    after = [k for e, k in keys if e == "after_sign_off"]
    assert len(after) == 2 and after[0] == after[1]
    fast = next(k for e, k in keys if e == "fast_check")
    assert fast != after[0]


async def test_resume_needs_the_workflow(clock: ManualClock) -> None:
    wf = quote_workflow()
    paused = await InMemoryRunner(clock=clock).run(wf, QUOTE)
    with pytest.raises(KeyError, match="unknown workflow 'quotes'"):
        await InMemoryRunner(clock=clock).resume(paused.state.model_dump_json())

    @executor
    def other(n: int) -> int:
        return n

    other_wf = WorkflowBuilder("other", start=other).build()
    with pytest.raises(ValueError, match="belongs to workflow 'quotes', not 'other'"):
        await InMemoryRunner(clock=clock).resume(paused.state, workflow=other_wf)


async def test_resume_does_not_mutate_the_state_it_was_given(clock: ManualClock) -> None:
    wf = quote_workflow()
    paused = await InMemoryRunner(clock=clock).run(wf, QUOTE)
    before = paused.state.model_dump()
    await InMemoryRunner([wf], clock=clock).resume(paused.state, {"sign_off-s2-0": {"approved": True}})
    assert paused.state.model_dump() == before
