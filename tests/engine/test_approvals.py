"""The approval node: approve, reject, deadlines (default, fail, escalate), and refused answers."""

from datetime import timedelta

import pytest
from pydantic import BaseModel, Field, ValidationError

from engine import (
    Approval,
    ApprovalDecision,
    ApprovalOutcome,
    ApprovalResponseError,
    InMemoryRunner,
    ManualClock,
    OnTimeout,
    WorkflowBuilder,
    escalate_to,
    executor,
    fail_run,
    respond_with,
)
from tests.engine.helpers import T0, kinds, started


class Order(BaseModel):
    id: str
    amount: float


class Verdict(BaseModel):
    """A stricter response model than ApprovalDecision."""

    approved: bool
    reason: str = Field(min_length=3)


Outcome = ApprovalOutcome[Order, ApprovalDecision]
seen: list[Outcome] = []


@executor
def prepare(order: Order) -> Order:
    return order


@executor
def ship(outcome: Outcome) -> str:
    seen.append(outcome)
    return f"shipped {outcome.request.id}"


@executor
def cancel(outcome: Outcome) -> str:
    seen.append(outcome)
    reason = outcome.response.comment or "no reason"
    return f"cancelled {outcome.request.id}: {reason}"


def approved(outcome: Outcome) -> bool:
    return outcome.response.approved


def rejected(outcome: Outcome) -> bool:
    return not outcome.response.approved


def order_workflow(review: Approval, *extra: Approval):
    builder = (
        WorkflowBuilder("orders", start=prepare)
        .add_edge(prepare, review)
        .add_edge(review, ship, when=approved)
        .add_edge(review, cancel, when=rejected)
    )
    for approval in extra:
        builder.add_edge(approval, ship, when=approved).add_edge(approval, cancel, when=rejected)
    return builder.build()


@pytest.fixture(autouse=True)
def _clear_seen() -> None:
    seen.clear()


ORDER = {"id": "o-1", "amount": 250.0}
DAY = timedelta(hours=24)


# --------------------------------------------------------------------------- answered


async def test_run_pauses_with_a_pending_approval(runner: InMemoryRunner, clock: ManualClock) -> None:
    review = Approval("review", request=Order, timeout=DAY, approvers=["ann@example.com"])
    wf = order_workflow(review)
    result = await runner.run(wf, ORDER, instance_id="run-1")

    assert result.status == "waiting_for_approval"
    assert result.state.status == "waiting_for_approval"
    assert result.outputs == []
    assert started(result) == ["prepare"]
    (pending,) = result.pending_approvals
    assert pending.request_id == "review-s2-0"
    assert pending.approval_id == "review"
    assert pending.event_name == "approval-review-s2-0"
    assert pending.request == ORDER
    assert pending.response_schema == ApprovalDecision.model_json_schema()
    assert pending.requested_at == T0
    assert pending.deadline == T0 + DAY
    assert pending.approvers == ["ann@example.com"]
    assert pending.superstep == 2
    assert pending.escalated_from is None
    assert result.events[-1].kind == "run_waiting"
    assert result.events[-1].data == {"approvals": ["review-s2-0"]}
    requested = [e for e in result.events if e.kind == "approval_requested"]
    assert [(e.executor_id, e.request_id) for e in requested] == [("review", "review-s2-0")]


async def test_request_ids_are_deterministic_per_run(runner: InMemoryRunner) -> None:
    wf = order_workflow(Approval("review", request=Order))
    first = await runner.run(wf, ORDER, instance_id="a")
    second = await runner.run(wf, ORDER, instance_id="b")
    assert [p.request_id for p in first.pending_approvals] == ["review-s2-0"]
    assert [p.request_id for p in second.pending_approvals] == ["review-s2-0"]


async def test_approve(runner: InMemoryRunner, clock: ManualClock) -> None:
    wf = order_workflow(Approval("review", request=Order, timeout=DAY))
    paused = await runner.run(wf, ORDER)
    clock.advance(timedelta(hours=1))

    done = await runner.resume(
        paused.state, {"review-s2-0": {"approved": True, "comment": "fine"}}, decided_by="ann", workflow=wf
    )

    assert done.status == "completed"
    assert done.outputs == ["shipped o-1"]
    assert done.pending_approvals == []
    (outcome,) = seen
    assert outcome.approval_id == "review"
    assert outcome.request_id == "review-s2-0"
    assert outcome.request == Order(id="o-1", amount=250.0)
    assert outcome.response == ApprovalDecision(approved=True, comment="fine")
    assert outcome.decided_by == "ann"
    assert outcome.decided_at == T0 + timedelta(hours=1)
    assert outcome.timed_out is False
    assert kinds(done.events)[:2] == ["run_resumed", "approval_answered"]
    assert done.events[-1].kind == "run_completed"
    assert started(done) == ["ship"]


async def test_reject(runner: InMemoryRunner) -> None:
    wf = order_workflow(Approval("review", request=Order))
    paused = await runner.run(wf, ORDER)
    done = await runner.resume(
        paused.state, {"review-s2-0": ApprovalDecision(approved=False, comment="no")}, workflow=wf
    )
    assert done.status == "completed"
    assert done.outputs == ["cancelled o-1: no"]
    assert started(done) == ["cancel"]


async def test_resume_without_answers_before_the_deadline_changes_nothing(
    runner: InMemoryRunner, clock: ManualClock
) -> None:
    wf = order_workflow(Approval("review", request=Order, timeout=DAY, on_timeout=fail_run()))
    paused = await runner.run(wf, ORDER)
    clock.advance(DAY - timedelta(seconds=1))
    again = await runner.resume(paused.state, workflow=wf)
    assert again.status == "waiting_for_approval"
    assert again.pending_approvals == paused.pending_approvals
    assert again.state.superstep == paused.state.superstep


async def test_an_approval_without_timeout_never_expires(runner: InMemoryRunner, clock: ManualClock) -> None:
    wf = order_workflow(Approval("review", request=Order))
    paused = await runner.run(wf, ORDER)
    assert paused.pending_approvals[0].deadline is None
    clock.advance(timedelta(days=3650))
    again = await runner.resume(paused.state, workflow=wf)
    assert again.status == "waiting_for_approval"


async def test_resuming_a_finished_run_is_refused(runner: InMemoryRunner) -> None:
    wf = order_workflow(Approval("review", request=Order))
    paused = await runner.run(wf, ORDER)
    done = await runner.resume(paused.state, {"review-s2-0": {"approved": True}}, workflow=wf)
    with pytest.raises(ValueError, match="has already completed"):
        await runner.resume(done.state, workflow=wf)


async def test_two_approvals_answered_one_at_a_time(runner: InMemoryRunner) -> None:
    legal = Approval("legal", request=Order)
    finance = Approval("finance", request=Order)

    @executor
    def both(outcomes: list[Outcome]) -> str:
        return " & ".join(f"{o.approval_id}={o.response.approved}" for o in outcomes)

    wf = (
        WorkflowBuilder("two", start=prepare)
        .add_fan_out(prepare, [legal, finance])
        .add_fan_in([legal, finance], both)
        .build()
    )
    paused = await runner.run(wf, ORDER)
    assert [p.request_id for p in paused.pending_approvals] == ["legal-s2-0", "finance-s2-0"]

    half = await runner.resume(paused.state, {"finance-s2-0": {"approved": False}}, workflow=wf)
    assert half.status == "waiting_for_approval"
    assert [p.request_id for p in half.pending_approvals] == ["legal-s2-0"]
    assert half.state.fan_in  # finance's outcome waits for legal's

    done = await runner.resume(half.state, {"legal-s2-0": {"approved": True}}, workflow=wf)
    assert done.status == "completed"
    assert done.outputs == ["legal=True & finance=False"]


# --------------------------------------------------------------------------- deadlines


async def test_timeout_with_a_default_response(runner: InMemoryRunner, clock: ManualClock) -> None:
    review = Approval(
        "review",
        request=Order,
        timeout=DAY,
        on_timeout=respond_with(ApprovalDecision(approved=False, comment="nobody answered")),
    )
    wf = order_workflow(review)
    paused = await runner.run(wf, ORDER)
    clock.advance(DAY)  # the deadline itself counts as passed

    done = await runner.resume(paused.state, workflow=wf)

    assert done.status == "completed"
    assert done.outputs == ["cancelled o-1: nobody answered"]
    (outcome,) = seen
    assert outcome.timed_out is True
    assert outcome.via == "timeout"
    assert outcome.decided_by is None
    assert outcome.decided_at == T0 + DAY
    timed_out = [e for e in done.events if e.kind == "approval_timed_out"]
    assert [(e.executor_id, e.request_id) for e in timed_out] == [("review", "review-s2-0")]


def test_default_response_is_validated_when_the_approval_is_defined() -> None:
    with pytest.raises(ValidationError):
        Approval("review", request=Order, timeout=DAY, on_timeout=respond_with({"approved": "perhaps"}))
    ok = Approval("review", request=Order, timeout=DAY, on_timeout=respond_with({"approved": True}))
    assert ok.default_response == ApprovalDecision(approved=True)


def test_approval_definition_errors() -> None:
    with pytest.raises(ValueError, match="timeout must be positive"):
        Approval("review", request=Order, timeout=timedelta(0))
    with pytest.raises(ValueError, match="on_timeout needs a timeout"):
        Approval("review", request=Order, on_timeout=fail_run())
    assert Approval("review", request=Order, timeout=DAY).on_timeout == OnTimeout(action="fail")


async def test_timeout_fails_the_run(runner: InMemoryRunner, clock: ManualClock) -> None:
    wf = order_workflow(Approval("review", request=Order, timeout=DAY, on_timeout=fail_run()))
    paused = await runner.run(wf, ORDER)
    clock.advance(DAY + timedelta(minutes=1))

    failed = await runner.resume(paused.state, workflow=wf)

    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.executor_id == "review"
    assert failed.error.type == "ApprovalTimedOut"
    assert "review-s2-0" in failed.error.message
    assert (T0 + DAY).isoformat() in failed.error.message
    assert failed.events[-1].kind == "run_failed"
    assert failed.state.status == "failed"
    assert failed.pending_approvals == []  # nothing left to answer in a failed run
    with pytest.raises(ValueError, match="has already failed"):
        await runner.resume(failed.state, workflow=wf)


async def test_escalation_after_the_deadline(runner: InMemoryRunner, clock: ManualClock) -> None:
    boss = Approval("boss", request=Order, timeout=timedelta(hours=48), approvers=["boss@example.com"])
    review = Approval("review", request=Order, timeout=DAY, on_timeout=escalate_to(boss))
    wf = order_workflow(review, boss)
    paused = await runner.run(wf, ORDER)
    assert [p.approval_id for p in paused.pending_approvals] == ["review"]

    clock.advance(DAY + timedelta(hours=1))
    escalated = await runner.resume(paused.state, workflow=wf)

    assert escalated.status == "waiting_for_approval"
    (pending,) = escalated.pending_approvals
    assert pending.approval_id == "boss"
    assert pending.request_id == "boss-s3-0"
    assert pending.escalated_from == "review"
    assert pending.request == ORDER
    assert pending.requested_at == T0 + DAY + timedelta(hours=1)
    assert pending.deadline == T0 + DAY + timedelta(hours=49)
    assert pending.approvers == ["boss@example.com"]
    assert started(escalated) == []

    # the first approval is closed now
    with pytest.raises(ApprovalResponseError, match="no such pending approval"):
        await runner.resume(escalated.state, {"review-s2-0": {"approved": True}}, workflow=wf)

    done = await runner.resume(
        escalated.state, {"boss-s3-0": {"approved": True}}, decided_by="boss", workflow=wf
    )
    assert done.status == "completed"
    assert done.outputs == ["shipped o-1"]
    (outcome,) = seen
    assert outcome.approval_id == "boss"
    assert outcome.decided_by == "boss"


# --------------------------------------------------------------------------- refused answers


async def test_invalid_response_is_refused_and_the_run_is_untouched(runner: InMemoryRunner) -> None:
    review = Approval("review", request=Order, response=Verdict)

    @executor
    def record(outcome: ApprovalOutcome[Order, Verdict]) -> str:
        return f"{outcome.response.approved}: {outcome.response.reason}"

    wf = WorkflowBuilder("strict", start=prepare).add_edge(prepare, review).add_edge(review, record).build()
    paused = await runner.run(wf, ORDER)
    before = paused.state.model_dump_json()

    with pytest.raises(ApprovalResponseError) as caught:
        await runner.resume(
            paused.state, {"review-s2-0": {"approved": "perhaps", "reason": "x"}}, workflow=wf
        )

    error = caught.value
    assert error.request_id == "review-s2-0"
    assert "invalid response" in str(error)
    assert {tuple(e["loc"]) for e in error.errors} == {("approved",), ("reason",)}
    assert all("url" not in e for e in error.errors)
    assert paused.state.model_dump_json() == before

    done = await runner.resume(
        paused.state, {"review-s2-0": {"approved": True, "reason": "looks right"}}, workflow=wf
    )
    assert done.outputs == ["True: looks right"]


async def test_one_bad_answer_refuses_all_answers_of_the_call(runner: InMemoryRunner) -> None:
    legal = Approval("legal", request=Order)
    finance = Approval("finance", request=Order)

    @executor
    def note(o: Outcome) -> str:
        return o.approval_id

    wf = WorkflowBuilder("two", start=prepare).add_fan_out(prepare, [legal, finance])
    wf = wf.add_edge(legal, note).add_edge(finance, note).build()
    paused = await runner.run(wf, ORDER)
    with pytest.raises(ApprovalResponseError):
        await runner.resume(paused.state, {"legal-s2-0": {"approved": True}, "finance-s2-0": {}}, workflow=wf)
    assert len(paused.state.approvals) == 2
    done = await runner.resume(
        paused.state, {"legal-s2-0": {"approved": True}, "finance-s2-0": {"approved": True}}, workflow=wf
    )
    assert done.outputs == ["legal", "finance"]


async def test_unknown_request_id_is_refused(runner: InMemoryRunner) -> None:
    wf = order_workflow(Approval("review", request=Order))
    paused = await runner.run(wf, ORDER)
    with pytest.raises(ApprovalResponseError, match="no such pending approval") as caught:
        await runner.resume(paused.state, {"review-s9-0": {"approved": True}}, workflow=wf)
    assert caught.value.request_id == "review-s9-0"
    assert caught.value.errors == []
    assert (await runner.resume(paused.state, workflow=wf)).status == "waiting_for_approval"


async def test_answer_after_the_deadline_is_refused(runner: InMemoryRunner, clock: ManualClock) -> None:
    review = Approval(
        "review", request=Order, timeout=DAY, on_timeout=respond_with({"approved": False, "comment": "late"})
    )
    wf = order_workflow(review)
    paused = await runner.run(wf, ORDER)
    clock.advance(DAY + timedelta(seconds=1))

    with pytest.raises(ApprovalResponseError, match=r"deadline .* has passed"):
        await runner.resume(paused.state, {"review-s2-0": {"approved": True}}, workflow=wf)

    # the refusal changed nothing: resuming without the answer applies the timeout policy
    done = await runner.resume(paused.state, workflow=wf)
    assert done.outputs == ["cancelled o-1: late"]


async def test_approval_asked_again_in_a_loop_gets_a_new_request_id(runner: InMemoryRunner) -> None:
    review = Approval("review", request=Order)

    @executor
    def again(outcome: Outcome) -> Order:
        return outcome.request.model_copy(update={"amount": outcome.request.amount - 100})

    @executor
    def accept(outcome: Outcome) -> str:
        return f"accepted at {outcome.request.amount}"

    wf = (
        WorkflowBuilder("haggle", start=prepare)
        .add_edge(prepare, review)
        .add_edge(review, again, when=rejected)
        .add_edge(again, review)
        .add_edge(review, accept, when=approved)
        .build()
    )
    first = await runner.run(wf, ORDER)
    second = await runner.resume(first.state, {"review-s2-0": {"approved": False}}, workflow=wf)
    assert [p.request_id for p in second.pending_approvals] == ["review-s4-0"]
    assert second.pending_approvals[0].request == {"id": "o-1", "amount": 150.0}
    done = await runner.resume(second.state, {"review-s4-0": {"approved": True}}, workflow=wf)
    assert done.outputs == ["accepted at 150.0"]


async def test_an_approval_after_an_approval_is_not_an_escalation(runner: InMemoryRunner) -> None:
    second = Approval("second", request=Outcome)

    @executor
    def final(o: ApprovalOutcome[Outcome, ApprovalDecision]) -> str:
        return f"{o.request.response.approved} then {o.response.approved}"

    review = Approval("review", request=Order)
    wf = WorkflowBuilder("stages", start=prepare).add_chain([prepare, review, second, final]).build()
    first = await runner.run(wf, ORDER)
    middle = await runner.resume(first.state, {"review-s2-0": {"approved": True}}, workflow=wf)
    (pending,) = middle.pending_approvals
    assert pending.approval_id == "second"
    assert pending.escalated_from is None
    assert pending.request["response"] == {"approved": True, "comment": ""}
    done = await runner.resume(middle.state, {"second-s3-0": {"approved": False}}, workflow=wf)
    assert done.outputs == ["True then False"]


async def test_a_raising_condition_after_an_answer_fails_the_run(runner: InMemoryRunner) -> None:
    review = Approval("review", request=Order)

    def picky(o: Outcome) -> bool:
        raise LookupError("no such field")

    wf = WorkflowBuilder("picky", start=prepare).add_edge(prepare, review)
    wf = wf.add_edge(review, ship, when=picky).build()
    paused = await runner.run(wf, ORDER)
    failed = await runner.resume(paused.state, {"review-s2-0": {"approved": True}}, workflow=wf)
    assert failed.status == "failed"
    assert failed.error is not None
    assert (failed.error.executor_id, failed.error.type) == ("review", "LookupError")
    assert failed.pending_approvals == []


@pytest.mark.parametrize(
    "answer, fields",
    [
        ({"approved": "yes"}, {("approved",)}),
        ({"approved": 1, "extra": "field"}, {("approved",), ("extra",)}),
        ({"approved": "true"}, {("approved",)}),
    ],
)
async def test_answers_are_decisions_no_coercion_and_no_unknown_fields(
    runner: InMemoryRunner, answer: dict, fields: set
) -> None:
    wf = order_workflow(Approval("review", request=Order, response=ApprovalDecision))
    paused = await runner.run(wf, ORDER)
    with pytest.raises(ApprovalResponseError) as caught:
        await runner.resume(paused.state, {"review-s2-0": answer}, workflow=wf)
    assert {tuple(e["loc"]) for e in caught.value.errors} == fields
    done = await runner.resume(paused.state, {"review-s2-0": ApprovalDecision(approved=True)}, workflow=wf)
    assert done.outputs == ["shipped o-1"]


def test_strict_answers_still_read_json_strings_of_datetimes_and_enums() -> None:
    from datetime import datetime
    from enum import StrEnum

    class Level(StrEnum):
        low = "low"
        high = "high"

    class Slot(BaseModel):
        at: datetime
        level: Level

    slot = Approval("slot", request=Order, response=Slot)
    parsed = slot.parse_answer({"at": "2030-01-01T09:30:00Z", "level": "high"})
    assert parsed.level is Level.high and parsed.at.year == 2030
    with pytest.raises(ValidationError):
        slot.parse_answer({"at": "2030-01-01T09:30:00Z", "level": "urgent"})
    with pytest.raises(ValidationError):
        slot.parse_answer({"at": 1_900_000_000, "level": "low"})  # a number is not a datetime's JSON form
