"""The approvals of one durable execution, in one home: asking, waiting, verifying answers, closing.

A run (``Orchestration``) and a map partition (``MapPartition``) both keep their approvals here and call
only this public interface:

- ``ask`` opens a superstep's requests: a map's items above its partition size are asked in partitions
  (sub-orchestrations that ask their items' people), the rest here;
- ``decide`` waits until one open request is answered validly, passes its deadline (its default
  answer, an escalation, or ``fail_run()``), or a partition of asked requests reports;
- ``read_answer`` turns an event into an answer or drops it: a signed envelope counts only once the
  verify activity found it good for this request of this run (``engine.durable.answers``), a raw event
  carries no identity, and an answer the approval's response model refuses is dropped;
- ``take_partition_answers`` is the form asked in partitions: every request of the partition open at
  once, answers arriving one event each, one deadline for all;
- ``record_closed`` and ``close`` write down how a request closed.

Graph semantics (an answer's outcome, a deadline's default, escalation) come from
``engine.core.approval_requests``, exactly as in the in-memory runner. Everything here runs inside an
orchestrator: deterministic, time from the context.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from pydantic import ValidationError

from engine.core.approval_requests import answer_approval, expire_approval, open_approval, validate_response
from engine.core.graph import Workflow
from engine.core.jsontext import decoded
from engine.core.routing import Delivery, Emission
from engine.core.run_state import ClosedApproval, PendingApproval, RunError, RunState
from engine.durable.answers import ENVELOPE, VERIFY_ACTIVITY, AnswerEnvelope, Verdict, VerifyRequest
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.context import DurableTask, OrchestrationContext
from engine.durable.partition import (
    ANSWERS_EVENT,
    AskedPartition,
    PartitionAnswer,
    PartitionOutput,
    partition_failure,
)
from engine.durable.partition_starts import PartitionStarts


@dataclass(frozen=True, slots=True)
class Answer:
    """A valid answer to a pending approval, and who gave it, as far as a signature vouches."""

    response: Any
    decided_by: str | None
    via: str
    answer_id: str | None = None
    link: str | None = None


@dataclass
class _Waits:
    """Open event waits and deadline timers, kept across loop turns: re-waiting would orphan a task."""

    events: dict[str, DurableTask] = field(default_factory=dict)
    timers: dict[str, DurableTask] = field(default_factory=dict)


class ApprovalDesk:
    """One execution's approvals. ``state.approvals`` are its open requests (carried in its checkpoint),
    ``closed`` how requests closed, ``asking`` the partitions of asked requests it waits for."""

    def __init__(
        self,
        workflow: Workflow,
        context: OrchestrationContext,
        state: RunState,
        started: OrchestratorInput,
        starts: PartitionStarts,
        fail: Callable[[RunError], NoReturn],
    ) -> None:
        self.workflow = workflow
        self.context = context
        self.state = state
        self.started = started
        self.starts = starts
        self.fail = fail
        self.closed: list[ClosedApproval] = list(started.closed)
        # Partitions of map approvals this execution asked and waits for, by instance id: the run waits
        # for each as for one approval (and never continues as new while one is out: its reply would go
        # to an execution that no longer exists).
        self.asking: dict[str, tuple[AskedPartition, DurableTask]] = {}
        self.answers_seen: dict[str, int] = {}  # envelopes verified per request, in this execution
        self.waits = _Waits()

    @property
    def waiting(self) -> bool:
        """Whether any request is open here or in a partition out."""
        return bool(self.state.approvals or self.asking)

    @property
    def asked_in_partitions(self) -> int:
        """How many requests the partitions out hold (counted as open until they report)."""
        return sum(len(asked.ordinals) for asked, _ in self.asking.values())

    def deadline_timer(self, request_id: str) -> DurableTask | None:
        """The deadline timer of an open request, once waited on."""
        return self.waits.timers.get(request_id)

    # --- asking --------------------------------------------------------------------------------------

    def ask(self, approvals: list[tuple[Delivery, int]], now: datetime) -> None:
        """Open a superstep's requests: in partitions where a map's items exceed its partition size."""
        for delivery, ordinal in self._ask_in_partitions(approvals, now):
            self.state.approvals.append(
                open_approval(
                    self.workflow, delivery, superstep=self.state.superstep, ordinal=ordinal, now=now
                )
            )

    def _ask_in_partitions(
        self, approvals: list[tuple[Delivery, int]], now: datetime
    ) -> list[tuple[Delivery, int]]:
        """Start the partitions of the maps of approvals with more items than their partition size (each
        a sub-orchestration that asks its items' people); the approvals left to ask here."""
        parts = self.starts.group(delivery for delivery, _ in approvals)
        numbers: Counter[str] = Counter()  # partitions are numbered per map
        for part in parts:
            asks = [approvals[i] for i in part]
            approval_id = asks[0][0].target
            number = numbers[approval_id]
            numbers[approval_id] += 1
            dump = self.workflow.nodes[approval_id].input_adapter.dump_python
            data = self.starts.input(approval_id, asks, dump, None)
            data["requested_at"] = now.isoformat()
            data |= self.started.answers_binding()
            instance_id, task = self.starts.start(approval_id, number, data)
            ordinals = tuple(o for _, o in asks)
            tags = tuple(d.item for d, _ in asks if d.item is not None)
            asked = AskedPartition(instance_id, approval_id, self.state.superstep, ordinals, tags, now)
            self.asking[instance_id] = (asked, task)
        if not parts:
            return approvals
        partitioned = {i for part in parts for i in part}
        return [a for i, a in enumerate(approvals) if i not in partitioned]

    # --- deciding ------------------------------------------------------------------------------------

    def decide(self) -> Generator[Any, Any, tuple[list[Emission], list[Delivery]]]:
        """Wait until one open request is answered (validly) or passes its deadline, or a partition of
        asked requests reports: the outcomes to route, and the escalations to deliver."""
        context, state, waits = self.context, self.state, self.waits
        for pending in state.approvals:
            if pending.request_id not in waits.events:
                waits.events[pending.request_id] = context.wait_for_external_event(pending.event_name)
            if pending.deadline is not None and pending.request_id not in waits.timers:
                waits.timers[pending.request_id] = context.create_timer(pending.deadline)
        contenders = [waits.events[p.request_id] for p in state.approvals]
        contenders += [waits.timers[p.request_id] for p in state.approvals if p.request_id in waits.timers]
        contenders += [task for _, task in self.asking.values()]
        winner = yield context.task_any(contenders)
        now = context.current_utc_datetime
        for instance_id, (asked, task) in list(self.asking.items()):
            if winner is task:
                del self.asking[instance_id]
                return self._partition_answers(asked, task.result, now), []
        for pending in list(state.approvals):
            if winner is waits.events[pending.request_id]:
                emitted = yield from self._answered(pending, winner.result)
                return emitted, []
            if winner is waits.timers.get(pending.request_id):
                return self._expired(pending, now)
        raise RuntimeError("task_any returned a task that is neither an approval event nor a deadline timer")

    def _answered(self, pending: PendingApproval, data: Any) -> Generator[Any, Any, list[Emission]]:
        del self.waits.events[pending.request_id]  # answered or dropped: a later answer needs a new wait
        answer = yield from self.read_answer(pending, data)
        if answer is None:
            return []  # an invalid answer is dropped; the approval waits on
        now = self.context.current_utc_datetime
        self.close(pending, now, outcome="answered", answer=answer)
        emission = answer_approval(
            self.workflow, pending, answer.response, now=now, via=answer.via, decided_by=answer.decided_by
        )
        return [emission]

    def _expired(self, pending: PendingApproval, now: datetime) -> tuple[list[Emission], list[Delivery]]:
        self.close(pending, now, outcome="timed_out", answer=None)
        expiry = expire_approval(self.workflow, pending, now=now)
        if expiry.error is not None:
            self.fail(expiry.error)
        return ([expiry.emission] if expiry.emission else []), (
            [expiry.escalation] if expiry.escalation else []
        )

    def _partition_answers(self, asked: AskedPartition, reply: Any, now: datetime) -> list[Emission]:
        """A partition's approval outcomes (in its items' places) and how each request closed; a failed
        partition (a request passed its deadline under ``fail_run()``) fails the run with its error."""
        failed = partition_failure(reply)
        if failed is not None:
            self.fail(failed)
        node = self.workflow.nodes[asked.approval_id]
        items = dict(zip(asked.ordinals, asked.items, strict=True))
        emitted = []
        for raw in decoded(reply) or []:
            output = PartitionOutput.model_validate(raw)
            outcome = node.output_adapter.validate_python(output.value)
            emitted.append(Emission(node.id, outcome, items[output.ordinal]))
            if output.closed is not None:
                # Known to the run from now on: the feed gives it out at this time, not before; asked when
                # the run's clock says (the feed listed it at that time while the partition had it).
                closed = output.closed.model_copy(
                    update={"reported_at": now, "requested_at": asked.requested_at}
                )
                self.closed.append(closed)
        return emitted

    # --- answers -------------------------------------------------------------------------------------

    def read_answer(self, pending: PendingApproval, data: Any) -> Generator[Any, Any, Answer | None]:
        """The answer an event carries, or None to drop it.

        An envelope (``$approval``) counts only once ``verify_answer`` has found its signature good for
        this request of this run; an unsigned or badly signed one is a raw event, whose body is then not
        a valid response. A raw event carries no identity, so an approval limited to named approvers
        ignores it. Runs started before answers were signed (``signed_answers`` unset: see
        ``engine.durable.admission``) read envelopes as they always did.
        """
        data = decoded(data)
        answer = Answer(data, None, "event")
        if isinstance(data, dict) and ENVELOPE in data:
            if self.started.signed_answers:
                verified = yield from self._verified(pending, data[ENVELOPE])
                answer = verified or answer
            else:
                try:
                    envelope = AnswerEnvelope.model_validate(data[ENVELOPE])
                except ValidationError:
                    return None
                answer = Answer(envelope.response, envelope.decided_by, envelope.via)
        if answer.via == "event" and pending.approvers:
            return None
        try:
            response = validate_response(
                self.workflow, pending, answer.response, strict=self.started.strict_answers
            )
        except ValidationError:
            return None
        return dataclasses.replace(answer, response=response)

    def _verified(self, pending: PendingApproval, envelope: Any) -> Generator[Any, Any, Answer | None]:
        """The envelope's answer once the verify activity found it good (its verdict is recorded)."""
        sequence = self.answers_seen.get(pending.request_id, 0) + 1
        self.answers_seen[pending.request_id] = sequence
        request = VerifyRequest(
            instance_id=self.state.instance_id,
            request_id=pending.request_id,
            run_nonce=self.started.run_nonce,
            sequence=sequence,
            envelope=envelope,
        )
        reply = yield self.context.call_activity(VERIFY_ACTIVITY, request.model_dump(mode="json"))
        verdict = Verdict.model_validate(decoded(reply))
        if not verdict.valid:
            return None
        response = AnswerEnvelope.model_validate(envelope).response
        return Answer(response, verdict.decided_by, verdict.via, verdict.answer_id, verdict.link)

    # --- closing -------------------------------------------------------------------------------------

    def close(self, pending: PendingApproval, now: datetime, *, outcome: str, answer: Answer | None) -> None:
        """Record how ``pending`` closed, and stop waiting for it."""
        request_id = pending.request_id
        self.record_closed(pending, now, outcome=outcome, answer=answer)
        self.state.approvals = [a for a in self.state.approvals if a.request_id != request_id]
        self.waits.events.pop(request_id, None)
        timer = self.waits.timers.pop(request_id, None)
        if timer is not None and not timer.is_completed:
            timer.cancel()

    def record_closed(
        self, pending: PendingApproval, now: datetime, *, outcome: str, answer: Answer | None
    ) -> ClosedApproval:
        """Record how a request closed (the caller stops waiting for it)."""
        node = self.workflow.approval(pending.approval_id)
        answer_json, answer_cut = ClosedApproval.kept(
            node.response_adapter.dump_python(answer.response, mode="json") if answer else None
        )
        self.closed.append(
            ClosedApproval(
                request_id=pending.request_id,
                approval_id=pending.approval_id,
                outcome=outcome,  # type: ignore[arg-type]
                decided_by=answer.decided_by if answer else None,
                via=answer.via if answer else "timeout",
                at=now,
                requested_at=pending.requested_at,
                answer_id=answer.answer_id if answer else None,
                link=answer.link if answer else None,
                answer=answer_json,
                answer_cut=answer_cut,
                item=pending.item,
            )
        )
        return self.closed[-1]

    # --- the form asked in partitions ----------------------------------------------------------------

    def take_partition_answers(
        self,
        deliveries: list[tuple[Delivery, int]],
        requested_at: datetime,
        publish: Callable[[], None],
    ) -> Generator[Any, Any, list[PartitionOutput]]:
        """Inside a partition: open every item's request as the run would have (its request ids, asked at
        its time), then take answers until each request is answered or the deadline (one for all: they
        were asked at once) has passed. Answers come one ``ANSWERS_EVENT`` each, naming their request;
        one that names no open request, or that the approval refuses, is dropped."""
        context, workflow = self.context, self.workflow
        open_: dict[str, PendingApproval] = {}
        places: dict[str, int] = {}
        for delivery, ordinal in deliveries:
            pending = open_approval(
                workflow, delivery, superstep=self.state.superstep, ordinal=ordinal, now=requested_at
            )
            pending.event_name = ANSWERS_EVENT
            open_[pending.request_id] = pending
            places[pending.request_id] = ordinal
        self.state.approvals = list(open_.values())
        deadline = self.state.approvals[0].deadline if self.state.approvals else None
        timer = context.create_timer(deadline) if deadline is not None else None
        outputs: list[PartitionOutput] = []

        def closed(pending: PendingApproval, emission: Emission, record: ClosedApproval) -> None:
            node = workflow.nodes[pending.approval_id]
            outcome = node.output_adapter.dump_python(emission.message, mode="json")
            outputs.append(PartitionOutput(ordinal=places[pending.request_id], value=outcome, closed=record))
            del open_[pending.request_id]

        while open_:
            if not context.is_replaying:
                publish()
            event = context.wait_for_external_event(ANSWERS_EVENT)
            if timer is None:
                raw = yield event
            else:
                winner = yield context.task_any([event, timer])
                if winner is timer:
                    self._all_expired(open_, closed)
                    break
                raw = event.result
            try:
                message = PartitionAnswer.model_validate(decoded(raw))
            except ValidationError:
                continue
            pending = open_.get(message.request_id)
            if pending is None:
                continue
            answer = yield from self.read_answer(pending, message.answer)
            if answer is None:
                continue
            now = context.current_utc_datetime
            record = self.record_closed(pending, now, outcome="answered", answer=answer)
            emission = answer_approval(
                workflow, pending, answer.response, now=now, via=answer.via, decided_by=answer.decided_by
            )
            closed(pending, emission, record)
            self.state.approvals = list(open_.values())
        self.state.approvals = []
        if timer is not None and not timer.is_completed:
            timer.cancel()
        outputs.sort(key=lambda o: o.ordinal)
        return outputs

    def _all_expired(
        self,
        open_: dict[str, PendingApproval],
        closed: Callable[[PendingApproval, Emission, ClosedApproval], None],
    ) -> None:
        """The partition's deadline passed: every open request takes its default (or fails the run)."""
        now = self.context.current_utc_datetime
        for pending in list(open_.values()):
            record = self.record_closed(pending, now, outcome="timed_out", answer=None)
            expiry = expire_approval(self.workflow, pending, now=now)
            if expiry.error is not None:
                self.fail(expiry.error)
            assert expiry.emission is not None  # escalation is refused for map approvals
            closed(pending, expiry.emission, record)


__all__ = ["Answer", "ApprovalDesk"]
