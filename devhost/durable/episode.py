"""One orchestrator episode: take in the queued messages, run the SDK on the history, turn its answer
into history, work and a new status, all collected for one commit.

The parts live in their own modules: `message_intake` (messages -> events to deliver),
`orchestrator_payloads` (the trigger's JSON both ways), `nondeterminism` (the replay check),
`action_scheduling` (new actions -> events and work), `call_retries` (retry policies),
`instance_lifecycle` (status changes), `new_instances` (new instances), all on the execution's
`replay_bookkeeping` (the book) and collected in `episode_changes`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devhost.durable import action_scheduling, call_retries, instance_lifecycle, orchestration_versions
from devhost.durable.episode_changes import EpisodeChanges, EpisodeHost, Note
from devhost.durable.history import EventType, event, fmt_time
from devhost.durable.message_intake import take_in
from devhost.durable.new_instances import TERMINAL
from devhost.durable.nondeterminism import replay_mismatch
from devhost.durable.orchestrator_actions import CONTINUE_AS_NEW, flatten, target_name
from devhost.durable.orchestrator_payloads import decode_answer, encode_context
from devhost.durable.replay_bookkeeping import Book
from devhost.durable.task_hub_store import Batch, InstanceRecord, WorkItem

CHILD_ANSWERS = (EventType.SubOrchestrationInstanceCompleted, EventType.SubOrchestrationInstanceFailed)


@dataclass
class InstanceState:
    """An instance as the task hub keeps it between episodes (its hot cache)."""

    record: InstanceRecord
    history: list[dict[str, Any]]
    book: Book
    # JSON text of history[i], encoded once: every episode hands the SDK the whole history again.
    history_json: list[str] = field(default_factory=list)
    # How long the last episode took, wall clock: the task hub paces a long replay's next episode by it.
    last_episode_seconds: float = 0.0
    # Sub-orchestrations started and not yet answered, counted over history[:children_counted].
    children_open: int = 0
    children_counted: int = 0

    def children_in_flight(self) -> int:
        """Sub-orchestrations this execution started whose answer is not in its history yet."""
        history = self.history
        if self.children_counted > len(history):  # the history was reset (continue-as-new, restart)
            self.children_open = self.children_counted = 0
        open_ = self.children_open
        for e in history[self.children_counted :]:
            kind = e.get("EventType")
            if kind == EventType.SubOrchestrationInstanceCreated:
                open_ += 1
            elif kind in CHILD_ANSWERS:
                open_ -= 1
        self.children_open, self.children_counted = open_, len(history)
        return open_

    def encoded_history(self) -> list[str]:
        """The history's events as JSON text, encoded once each and kept (the SDK's context takes them so)."""
        encoded = self.history_json
        if len(encoded) > len(self.history):  # the history was reset (continue-as-new, restart)
            encoded = self.history_json = []
        if len(encoded) < len(self.history):
            encoded.extend(json.dumps(e) for e in self.history[len(encoded) :])
        return encoded


class Episode:
    """``begin()`` takes in the messages; when it says so, run the orchestrator on ``context_json`` and
    hand its answer to ``finish()``. What changed is then in ``batch``, ``notes`` and ``leftover``."""

    def __init__(self, host: EpisodeHost, state: InstanceState, msgs: list[WorkItem], now: datetime) -> None:
        self.st = state
        self.msgs = msgs
        self.changes = EpisodeChanges(host, state.record, state.book, now)
        self.leftover: list[WorkItem] = []  # held back while suspended or not yet started
        self.new_events: list[dict[str, Any]] = []  # delivered to the SDK this episode
        self.context_json: str | None = None
        self.rejected = False  # its version does not match: the messages stay queued, nothing changed

    @property
    def batch(self) -> Batch:
        """What the episode writes, for the task hub's commit."""
        return self.changes.batch

    @property
    def notes(self) -> list[Note]:
        """The state changes to log once the episode is committed."""
        return self.changes.notes

    # ---- phase 1: messages -> events -----------------------------------------------------
    def begin(self) -> bool:
        """Consume the messages. True when the orchestrator must run (context_json is ready)."""
        changes = self.changes
        rec = changes.record
        verdict = (
            None
            if rec.status in TERMINAL
            else orchestration_versions.verdict(changes.host.settings, rec.version)
        )
        if verdict == "Reject":
            # The extension abandons the work item: nothing is recorded, the messages wait for a host
            # whose defaultVersion the instance's version matches.
            self.rejected = True
            return False
        intake = take_in(changes, self.msgs, has_history=bool(self.st.history))
        self.leftover = intake.leftover
        if not intake.events:
            self._record()
            return False
        if verdict == "Fail":
            self.new_events = intake.events
            if intake.started:
                instance_lifecycle.start(changes)
            instance_lifecycle.fail(
                changes,
                orchestration_versions.FAILURE_MESSAGE,
                None,
                error_type=orchestration_versions.FAILURE_TYPE,
            )
            self._record()
            return False
        for e in intake.events:
            action_scheduling.timer_fired(changes.book, e)
            call_retries.before_delivery(changes, e)
        self.new_events = intake.events
        if intake.started:
            instance_lifecycle.start(changes)
        self.context_json = encode_context(
            changes.record, self.st.encoded_history(), self.new_events, changes.now
        )
        return True

    # ---- phase 2: the SDK's answer -> history, work, status -----------------------------
    def finish(self, result: str | None, error: BaseException | None) -> None:
        """Take in the orchestrator's answer: check it against the replay, schedule its new actions, and
        end, fail or continue the instance as it says."""
        changes = self.changes
        state, failure = decode_answer(result, error)
        actions = flatten([a for group in (state.get("actions") or []) for a in group])
        problem = replay_mismatch(
            changes.book.actions, actions, may_stop_early=bool(state.get("isDone")) or failure is not None
        )
        continue_action: dict[str, Any] | None = None
        if problem is None and changes.book.rewound:
            self._schedule_rewound(actions, dispatch=failure is None)
        if problem is None:
            action_scheduling.cancel_timers(changes, actions)
            for action in actions[len(changes.book.actions) :]:
                if action.get("actionType") == CONTINUE_AS_NEW:
                    continue_action = action
                    break
                problem = self._schedule(action, dispatch=failure is None)
                if problem:
                    break
        custom = state.get("customStatus")
        if custom is not None:
            too_large = instance_lifecycle.set_custom_status(changes, custom)
            problem = problem or too_large
        if problem is not None:
            instance_lifecycle.fail(changes, problem, details=None)
        elif failure is not None:
            instance_lifecycle.fail(
                changes, f"Orchestrator function '{changes.record.name}' failed: {failure}", failure
            )
        elif state.get("isDone") and continue_action is not None:
            instance_lifecycle.continue_as_new(changes, continue_action)
        elif state.get("isDone"):
            instance_lifecycle.complete(changes, state.get("output"))
        self._record()

    def _schedule_rewound(self, actions: list[dict[str, Any]], *, dispatch: bool) -> None:
        """A rewind cleared these activities from the history: the replay asked for them again (under
        the ids they had), so they run again."""
        book = self.changes.book
        rewound = set(book.rewound)
        for action, known in zip(actions, book.actions, strict=False):
            tid = known[2]
            if tid not in rewound:
                continue
            action_scheduling.schedule_activity(
                self.changes, tid, target_name(action), action.get("input"), dispatch=dispatch
            )
            if action.get("actionType") in call_retries.RETRYING:
                call_retries.track(self.changes, tid, action)
        book.rewound = []

    def _schedule(self, action: dict[str, Any], *, dispatch: bool) -> str | None:
        problem = action_scheduling.unsupported(self.changes, action)
        if problem is not None:
            return problem
        tid = action_scheduling.schedule_action(self.changes, action, dispatch=dispatch)
        if tid is not None and action["actionType"] in call_retries.RETRYING:
            call_retries.track(self.changes, tid, action)
        return None

    def _record(self) -> None:
        """Append this episode's events to the history and stage the instance record."""
        changes, st = self.changes, self.st
        rec = changes.record
        if changes.reset_history:
            changes.batch.append_history(rec.instance_id, [], reset=True)
            st.history = []
            st.book = changes.book
        elif self.new_events or changes.events:
            events: list[dict[str, Any]] = []
            if self.new_events:
                events.append(event(EventType.OrchestratorStarted, changes.now))
            events.extend(self.new_events)
            events.extend(changes.events)
            if self.new_events:
                events.append(event(EventType.OrchestratorCompleted, changes.now))
            changes.batch.append_history(rec.instance_id, events)
            for e in events:
                st.history.append({**e, "IsPlayed": True})
        rec.updated = fmt_time(changes.now)
        rec.book = changes.book.to_dict()
        changes.batch.instances[rec.instance_id] = rec
