"""One orchestrator episode: deliver new events, run the SDK, turn its actions into history and work.

Task ids follow the SDK's own numbering (it is the SDK that replays the history): every
scheduled leaf action (activity, timer, sub-orchestration) takes the next id in the order the
SDK lists it; waits for external events and continue-as-new take none. A retry policy makes the
SDK reserve extra ids while it processes a failure (the backoff timer) and a fired backoff
timer (the next attempt) - those ids appear in no action, so the host reserves them too, and
delivers such events first in an episode so the reservations precede the episode's new actions.
"""

from __future__ import annotations

import copy
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from devhost.history import EventType, event, fmt_time, parse_time
from devhost.store import Batch, InstanceRecord, WorkItem

TERMINAL = {"Completed", "Failed", "Terminated"}
MAX_CUSTOM_STATUS = 16 * 1024
OOP_MARKER = "$OutOfProcData$:"

# ActionType values of the SDK (azure/durable_functions/models/actions/ActionType.py).
CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY = 0, 1, 2, 3
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_EVENT, CALL_ENTITY, CALL_HTTP, SIGNAL_ENTITY = 4, 5, 6, 7, 8, 9
WHEN_ANY, WHEN_ALL = 11, 12
ACTION_NAMES = {
    0: "CallActivity",
    1: "CallActivityWithRetry",
    2: "CallSubOrchestrator",
    3: "CallSubOrchestratorWithRetry",
    4: "ContinueAsNew",
    5: "CreateTimer",
    6: "WaitForExternalEvent",
    7: "CallEntity",
    8: "CallHttp",
    9: "SignalEntity",
}


@dataclass
class Book:
    """Per-execution replay bookkeeping, persisted with the instance record."""

    seq: int = 0  # next task id
    actions: list[list[Any]] = field(default_factory=list)  # known leaf actions: [type, name, id]
    retries: dict[str, dict[str, Any]] = field(default_factory=dict)  # by current attempt / timer id
    waits: dict[str, int] = field(default_factory=dict)  # WaitForExternalEvent actions per name
    delivered: dict[str, int] = field(default_factory=dict)  # EventRaised delivered per name
    held: list[dict[str, Any]] = field(default_factory=list)  # raised, not yet awaited (FIFO)
    timers: dict[str, int] = field(default_factory=dict)  # pending timer task id -> work id

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Book:
        return cls(**data) if data else cls()

    def to_dict(self) -> dict[str, Any]:
        """What ``dataclasses.asdict`` gives (a deep copy), without its generic recursion."""
        return {
            "seq": self.seq,
            "actions": [list(a) for a in self.actions],
            "retries": copy.deepcopy(self.retries) if self.retries else {},
            "waits": dict(self.waits),
            "delivered": dict(self.delivered),
            "held": copy.deepcopy(self.held) if self.held else [],
            "timers": dict(self.timers),
        }

    def deliverable(self) -> bool:
        return any(self.waits.get(e["Name"], 0) > self.delivered.get(e["Name"], 0) for e in self.held)


@dataclass
class InstanceState:
    record: InstanceRecord
    history: list[dict[str, Any]]
    book: Book
    # JSON text of history[i], encoded once: every episode hands the SDK the whole history again.
    history_json: list[str] = field(default_factory=list)
    # How long the last episode took, wall clock: the task hub paces a long replay's next episode by it.
    last_episode_seconds: float = 0.0

    def encoded_history(self) -> list[str]:
        encoded = self.history_json
        if len(encoded) > len(self.history):  # the history was reset (continue-as-new, restart)
            encoded = self.history_json = []
        if len(encoded) < len(self.history):
            encoded.extend(json.dumps(e) for e in self.history[len(encoded) :])
        return encoded


class EpisodeHost(Protocol):
    def alloc_work_id(self) -> int: ...
    def get_record(self, instance_id: str) -> InstanceRecord | None: ...
    def has_orchestrator(self, name: str) -> bool: ...


@dataclass
class Note:
    """A state change to log once the episode is committed."""

    instance_id: str
    name: str
    what: str


def action_label(action: dict[str, Any]) -> str:
    kind = ACTION_NAMES.get(action.get("actionType", -1), f"action type {action.get('actionType')}")
    name = action.get("functionName") or action.get("externalEventName")
    return f"{kind} '{name}'" if name else kind


def flatten(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = list(reversed(actions))
    while stack:
        a = stack.pop()
        if a.get("actionType") in (WHEN_ALL, WHEN_ANY):
            stack.extend(reversed(a.get("compoundActions") or []))
        else:
            out.append(a)
    return out


def retry_delay(
    options: dict[str, Any], attempt: int, first_attempt: datetime, now: datetime
) -> float | None:
    """DTFx RetryInterceptor.ComputeNextDelay in seconds; None once retryTimeout has elapsed."""
    timeout_ms = options.get("retryTimeoutInMilliseconds")
    if timeout_ms is not None and now >= first_attempt + timedelta(milliseconds=float(timeout_ms)):
        return None
    first = float(options.get("firstRetryIntervalInMilliseconds", 1000))
    backoff = float(options.get("backoffCoefficient", 1.0))
    try:
        delay = first * math.pow(backoff, attempt - 1)
    except OverflowError:
        delay = math.inf
    cap = options.get("maxRetryIntervalInMilliseconds")
    if cap is not None:
        delay = min(delay, float(cap))
    return min(delay, 3650 * 86400 * 1000.0) / 1000.0


class Episode:
    """Collects everything one episode changes into a single `Batch`."""

    def __init__(self, host: EpisodeHost, state: InstanceState, msgs: list[WorkItem], now: datetime) -> None:
        self.host = host
        self.st = state
        self.rec = state.record
        self.book = state.book
        self.msgs = msgs
        self.now = now
        self.batch = Batch()
        self.notes: list[Note] = []
        self.leftover: list[WorkItem] = []  # held back while suspended
        self.new_events: list[dict[str, Any]] = []  # delivered to the SDK this episode
        self.out_events: list[dict[str, Any]] = []  # host-side events recorded after them
        self.context_json: str | None = None
        self._reset_history = False

    # ---- helpers -------------------------------------------------------------------------
    def _work(
        self, instance_id: str, kind: str, payload: dict[str, Any], due: datetime | None = None
    ) -> WorkItem:
        item = WorkItem(
            self.host.alloc_work_id(), instance_id, kind, payload, due.timestamp() if due else None
        )
        self.batch.add_work.append(item)
        return item

    def _msg_self(self, ev: dict[str, Any], due: datetime | None = None) -> WorkItem:
        return self._work(
            self.rec.instance_id, "msg", {"event": ev, "execution_id": self.rec.execution_id}, due
        )

    def _note(self, what: str) -> None:
        self.notes.append(Note(self.rec.instance_id, self.rec.name, what))

    def _next_id(self) -> int:
        tid = self.book.seq
        self.book.seq += 1
        return tid

    # ---- phase 1: messages -> events -----------------------------------------------------
    def begin(self) -> bool:
        """Consume the messages. True when the orchestrator must run (context_json is ready)."""
        rec = self.rec
        self.batch.del_work.extend(m.id for m in self.msgs)
        events: list[dict[str, Any]] = []
        for m in self.msgs:
            control = m.payload.get("control")
            if rec.status in TERMINAL:
                continue  # late results, events or controls for a finished instance are dropped
            if control == "terminate":
                self._terminate(str(m.payload.get("reason", "")))
                return self._finish_without_run()
            if control == "suspend":
                if rec.status in ("Running", "Pending"):
                    rec.status = "Suspended"
                    self.out_events.append(
                        event(EventType.ExecutionSuspended, self.now, Input=m.payload.get("reason"))
                    )
                    self._note("suspended")
                continue
            if control == "resume":
                if rec.status == "Suspended":
                    rec.status = "Running" if self.st.history else "Pending"
                    self.out_events.append(
                        event(EventType.ExecutionResumed, self.now, Input=m.payload.get("reason"))
                    )
                    self._note("resumed")
                continue
            execution = m.payload.get("execution_id")
            if execution is not None and execution != rec.execution_id:
                continue  # a completion for an earlier execution (before continue-as-new / restart)
            events.append(m.payload["event"])
        if rec.status in TERMINAL:
            return self._finish_without_run()
        if rec.status == "Suspended":
            # Held until resume: keep them queued (not deleted) and record only the suspension.
            keep = [m for m in self.msgs if "control" not in m.payload]
            keep_ids = {m.id for m in keep}
            self.batch.del_work = [w for w in self.batch.del_work if w not in keep_ids]
            self.leftover = keep
            return self._finish_without_run()
        started = [e for e in events if e["EventType"] == EventType.ExecutionStarted]
        if started and self.st.history:
            started = []  # duplicate start message (replayed queue after a crash): ignore
        if not self.st.history and not started:
            # Nothing runs before the execution starts: keep the messages queued for it.
            keep_ids = {m.id for m in self.msgs if "control" not in m.payload}
            self.batch.del_work = [w for w in self.batch.del_work if w not in keep_ids]
            self.leftover = [m for m in self.msgs if m.id in keep_ids]
            return self._finish_without_run()
        raised = [e for e in events if e["EventType"] == EventType.EventRaised]
        others = [
            e for e in events if e["EventType"] not in (EventType.ExecutionStarted, EventType.EventRaised)
        ]
        self.book.held.extend(raised)
        ordered = started + self._reserving_first(others) + self._take_deliverable_events()
        if not ordered:
            return self._finish_without_run()
        for e in ordered:
            self._before_delivery(e)
        self.new_events = ordered
        if started:
            rec.status = "Running"
            self._note("started")
        self.context_json = self._context_json()
        return True

    def _reserving_first(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        first, rest = [], []
        for e in events:
            (first if self._reserves_ids(e) else rest).append(e)
        return first + rest

    def _reserves_ids(self, e: dict[str, Any]) -> bool:
        kind = e["EventType"]
        if kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            state = self.book.retries.get(str(e.get("TaskScheduledId")))
            return state is not None and state["phase"] == "running"
        if kind == EventType.TimerFired:
            state = self.book.retries.get(str(e.get("TimerId")))
            return state is not None and state["phase"] == "waiting" and state["attempt"] < state["max"]
        return False

    def _take_deliverable_events(self) -> list[dict[str, Any]]:
        """Raised events go to the orchestrator only once it waits for them (the SDK keeps just
        one early event per name), in the order they were raised."""
        out, keep = [], []
        budget = {n: self.book.waits.get(n, 0) - self.book.delivered.get(n, 0) for n in self.book.waits}
        for e in self.book.held:
            name = e["Name"]
            if budget.get(name, 0) > 0:
                budget[name] -= 1
                self.book.delivered[name] = self.book.delivered.get(name, 0) + 1
                out.append(e)
            else:
                keep.append(e)
        self.book.held = keep
        return out

    def _before_delivery(self, e: dict[str, Any]) -> None:
        """Host-side consequences of an event: retry timers and next attempts, timer bookkeeping."""
        kind = e["EventType"]
        if kind == EventType.TimerFired:
            self.book.timers.pop(str(e.get("TimerId")), None)
        if kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            key = str(e.get("TaskScheduledId"))
            state = self.book.retries.pop(key, None)
            if state is not None and state["phase"] == "running":
                delay = retry_delay(state["options"], state["attempt"], parse_time(state["first"]), self.now)
                if delay is None:
                    state["timed_out"] = True
                    delay = 0.0
                tid = self._next_id()
                fire_at = self.now + timedelta(seconds=delay)
                self.out_events.append(event(EventType.TimerCreated, self.now, tid, FireAt=fmt_time(fire_at)))
                work = self._msg_self(
                    event(EventType.TimerFired, fire_at, TimerId=tid, FireAt=fmt_time(fire_at)), due=fire_at
                )
                self.book.timers[str(tid)] = work.id
                state["phase"] = "waiting"
                self.book.retries[str(tid)] = state
        elif kind in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted):
            self.book.retries.pop(str(e.get("TaskScheduledId")), None)
        elif kind == EventType.TimerFired:
            state = self.book.retries.pop(str(e.get("TimerId")), None)
            if state is not None and state["attempt"] < state["max"]:
                tid = self._next_id()
                state["attempt"] += 1
                state["phase"] = "running"
                self.book.retries[str(tid)] = state
                if state.get("timed_out"):
                    # The SDK knows nothing of retryTimeout and waits for this attempt: fail it at once.
                    failed = (
                        EventType.TaskFailed
                        if state["kind"] == "activity"
                        else EventType.SubOrchestrationInstanceFailed
                    )
                    reason = f"{state['name']}: retry timeout exceeded, attempt not started"
                    self._msg_self(event(failed, self.now, TaskScheduledId=tid, Reason=reason, Details=None))
                elif state["kind"] == "activity":
                    self._schedule_activity(tid, state["name"], state["input"])
                else:
                    self._schedule_sub(tid, state["name"], state["input"], state.get("instanceId"))

    def _context_json(self) -> str:
        started = event(EventType.OrchestratorStarted, self.now)
        parent = self.rec.parent or {}
        # The same text json.dumps({"history": [...], ...}) gives, with the replayed part of the
        # history encoded once per event instead of once per episode.
        history = ", ".join(
            [*self.st.encoded_history(), json.dumps(started), *(json.dumps(e) for e in self.new_events)]
        )
        rest = json.dumps(
            {
                "input": _context_input(self.rec.input),
                "instanceId": self.rec.instance_id,
                "isReplaying": bool(self.st.history),
                "parentInstanceId": parent.get("instance_id"),
                "upperSchemaVersion": 1,
                "upperSchemaVersionNew": 2,
                # Azure Storage values: timers longer than 6 days are split by the SDK into 3-day ones.
                "longRunningTimerIntervalDuration": "3.00:00:00",
                "maximumShortTimerDuration": "6.00:00:00",
                "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
            }
        )
        return '{"history": [' + history + "], " + rest[1:]

    # ---- phase 2: the SDK's answer -> history, work, status -----------------------------
    def finish(self, result: str | None, error: BaseException | None) -> None:
        state, failure = _parse_result(result, error)
        actions = flatten([a for group in (state.get("actions") or []) for a in group])
        problem = self._check_replay(actions, state, failure)
        continue_action: dict[str, Any] | None = None
        if problem is None:
            for action, known in zip(actions, self.book.actions, strict=False):
                if action.get("actionType") == CREATE_TIMER and action.get("isCanceled"):
                    self._cancel_timer(known[2])
            for action in actions[len(self.book.actions) :]:
                kind = action.get("actionType")
                if kind == CONTINUE_AS_NEW:
                    continue_action = action
                    break
                problem = self._apply_new_action(action, dispatch=failure is None)
                if problem:
                    break
        custom = state.get("customStatus")
        if custom is not None:
            text = json.dumps(custom)
            if len(text) > MAX_CUSTOM_STATUS and problem is None:
                problem = (
                    f"The custom status of orchestration '{self.rec.name}' is {len(text)} bytes; "
                    f"the limit is {MAX_CUSTOM_STATUS}."
                )
            self.rec.custom_status = text
        if problem is not None:
            self._fail(problem, details=None)
        elif failure is not None:
            self._fail(f"Orchestrator function '{self.rec.name}' failed: {failure}", details=failure)
        elif state.get("isDone") and continue_action is not None:
            self._continue_as_new(continue_action)
        elif state.get("isDone"):
            self._complete(state.get("output"))
        self._record()

    def _check_replay(
        self, actions: list[dict[str, Any]], state: dict[str, Any], failure: str | None
    ) -> str | None:
        known = self.book.actions
        for i, (old, new) in enumerate(zip(known, actions, strict=False)):
            new_name = new.get("functionName") or new.get("externalEventName") or ""
            if old[0] != new.get("actionType") or (old[1] or "") != new_name:
                expected = (
                    f"{ACTION_NAMES.get(old[0], old[0])} '{old[1]}'" if old[1] else ACTION_NAMES.get(old[0])
                )
                return (
                    f"Non-deterministic workflow detected: action #{i} in the history is {expected} but "
                    f"the orchestrator now scheduled {action_label(new)}. Orchestrator code must be "
                    f"deterministic (no branching on time, random values, environment or global state)."
                )
        if len(actions) < len(known) and not state.get("isDone") and failure is None:
            missing = known[len(actions)]
            return (
                f"Non-deterministic workflow detected: the history has "
                f"{ACTION_NAMES.get(missing[0], missing[0])} '{missing[1] or ''}' at action #{len(actions)} "
                f"but the orchestrator no longer schedules it."
            )
        return None

    def _apply_new_action(self, action: dict[str, Any], *, dispatch: bool) -> str | None:
        kind = action.get("actionType")
        if kind in (CALL_ENTITY, SIGNAL_ENTITY):
            entity = action.get("instanceId") or action.get("entity") or "?"
            return (
                f"Orchestration '{self.rec.name}' uses durable entity '{entity}' "
                f"({action_label(action)}): entities are not supported by devhost yet."
            )
        if kind == CALL_HTTP:
            return (
                f"Orchestration '{self.rec.name}' uses call_http: durable HTTP is not supported by devhost."
            )
        if kind not in ACTION_NAMES:
            return f"Orchestration '{self.rec.name}' returned an unknown action type {kind!r}."
        name = action.get("functionName") or action.get("externalEventName") or ""
        if kind == WAIT_EVENT:
            self.book.actions.append([kind, name, None])
            self.book.waits[name] = self.book.waits.get(name, 0) + 1
            return None
        tid = self._next_id()
        self.book.actions.append([kind, name, tid])
        if kind in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY):
            self._schedule_activity(tid, name, action.get("input"), dispatch=dispatch)
        elif kind in (CALL_SUB, CALL_SUB_RETRY):
            self._schedule_sub(tid, name, action.get("input"), action.get("instanceId"), dispatch=dispatch)
        elif kind == CREATE_TIMER:
            fire_at = parse_time(action["fireAt"])
            self.out_events.append(event(EventType.TimerCreated, self.now, tid, FireAt=fmt_time(fire_at)))
            if dispatch and not action.get("isCanceled"):
                work = self._msg_self(
                    event(EventType.TimerFired, fire_at, TimerId=tid, FireAt=fmt_time(fire_at)), due=fire_at
                )
                self.book.timers[str(tid)] = work.id
        if kind in (CALL_ACTIVITY_RETRY, CALL_SUB_RETRY):
            options = action.get("retryOptions") or {}
            self.book.retries[str(tid)] = {
                "kind": "activity" if kind == CALL_ACTIVITY_RETRY else "sub",
                "name": name,
                "input": action.get("input"),
                "instanceId": action.get("instanceId"),
                "options": options,
                "attempt": 1,
                "max": int(options.get("maxNumberOfAttempts", 1)),
                "first": fmt_time(self.now),
                "phase": "running",
            }
        return None

    def _schedule_activity(self, tid: int, name: str, input_text: Any, *, dispatch: bool = True) -> None:
        self.out_events.append(event(EventType.TaskScheduled, self.now, tid, Name=name, Input=input_text))
        if dispatch:
            self._work(
                self.rec.instance_id,
                "activity",
                {
                    "name": name,
                    "input": input_text,
                    "task_id": tid,
                    "execution_id": self.rec.execution_id,
                    "instance_id": self.rec.instance_id,
                },
            )

    def _schedule_sub(
        self, tid: int, name: str, input_text: Any, instance_id: str | None, *, dispatch: bool = True
    ) -> None:
        child_id = instance_id or f"{self.rec.instance_id}:{tid}"
        self.out_events.append(
            event(
                EventType.SubOrchestrationInstanceCreated,
                self.now,
                tid,
                Name=name,
                Input=input_text,
                InstanceId=child_id,
            )
        )
        if not dispatch:
            return
        failed = None
        existing = self.batch.instances.get(child_id) or self.host.get_record(child_id)
        if not self.host.has_orchestrator(name):
            failed = f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
        elif existing is not None and existing.status not in TERMINAL:
            failed = (
                f"An orchestration with instance ID '{child_id}' already exists and is {existing.status}."
            )
        if failed:
            self._msg_self(
                event(
                    EventType.SubOrchestrationInstanceFailed,
                    self.now,
                    TaskScheduledId=tid,
                    Reason=failed,
                    Details=None,
                )
            )
            return
        input_value_text = json.dumps(input_text)
        child = InstanceRecord(
            instance_id=child_id,
            name=name,
            execution_id=uuid.uuid4().hex,
            status="Pending",
            input=input_value_text,
            created=fmt_time(self.now),
            updated=fmt_time(self.now),
            parent={
                "instance_id": self.rec.instance_id,
                "execution_id": self.rec.execution_id,
                "task_id": tid,
            },
        )
        self.batch.instances[child_id] = child
        self.batch.append_history(child_id, [], reset=True)
        self._work(
            child_id,
            "msg",
            {
                "event": event(
                    EventType.ExecutionStarted,
                    self.now,
                    Name=name,
                    Input=input_value_text,
                    Version=None,
                    ParentInstance={"InstanceId": self.rec.instance_id},
                ),
                "execution_id": child.execution_id,
            },
        )

    def _cancel_timer(self, tid: int | None) -> None:
        work_id = self.book.timers.pop(str(tid), None)
        if work_id is not None:
            self.batch.del_work.append(work_id)

    def _cancel_all_timers(self) -> None:
        for tid in list(self.book.timers):
            self._cancel_timer(int(tid))

    def _notify_parent(
        self, completed: bool, result_text: str | None, reason: str | None, details: str | None
    ) -> None:
        parent = self.rec.parent
        if not parent:
            return
        if completed:
            ev = event(
                EventType.SubOrchestrationInstanceCompleted,
                self.now,
                TaskScheduledId=parent["task_id"],
                Result=result_text,
            )
        else:
            ev = event(
                EventType.SubOrchestrationInstanceFailed,
                self.now,
                TaskScheduledId=parent["task_id"],
                Reason=reason,
                Details=details,
            )
        self._work(parent["instance_id"], "msg", {"event": ev, "execution_id": parent["execution_id"]})

    def _complete(self, output: Any) -> None:
        text = json.dumps(output)
        self.rec.status = "Completed"
        self.rec.output = text
        self.out_events.append(
            event(EventType.ExecutionCompleted, self.now, OrchestrationStatus="Completed", Result=text)
        )
        self._cancel_all_timers()
        self.book.held.clear()
        self._notify_parent(True, text, None, None)
        self._note("completed")

    def _fail(self, message: str, details: str | None) -> None:
        self.rec.status = "Failed"
        self.rec.output = json.dumps(message)
        self.out_events.append(
            event(
                EventType.ExecutionCompleted,
                self.now,
                OrchestrationStatus="Failed",
                Result=message,
                FailureDetails={"ErrorMessage": message},
            )
        )
        self._cancel_all_timers()
        self.book.held.clear()
        self._notify_parent(False, None, message, details)
        self._note(f"failed: {message}")

    def _terminate(self, reason: str) -> None:
        self.rec.status = "Terminated"
        self.rec.output = json.dumps(reason)
        self.out_events.append(event(EventType.ExecutionTerminated, self.now, Input=json.dumps(reason)))
        self._cancel_all_timers()
        self.book.held.clear()
        self._notify_parent(False, None, f"Orchestration '{self.rec.name}' was terminated: {reason}", None)
        self._note(f"terminated ({reason})")

    def _continue_as_new(self, action: dict[str, Any]) -> None:
        self._cancel_all_timers()
        preserve = bool(action.get("preserveUnprocessedEvents"))
        carried = self.book.held if preserve else []
        self.rec.execution_id = uuid.uuid4().hex
        self.rec.input = json.dumps(action.get("input"))
        self.rec.status = "ContinuedAsNew"
        self.st.book = self.book = Book()
        self.st.history = []
        self._reset_history = True
        self.new_events, self.out_events = [], []
        self._msg_self(
            event(
                EventType.ExecutionStarted, self.now, Name=self.rec.name, Input=self.rec.input, Version=None
            )
        )
        for held in carried:
            self._msg_self(held)
        self._note("continued as new")

    def _finish_without_run(self) -> bool:
        self._record()
        return False

    def _record(self) -> None:
        """Append this episode's events to the history and stage the instance record."""
        if self._reset_history:
            self.batch.append_history(self.rec.instance_id, [], reset=True)
        elif self.new_events or self.out_events:
            events: list[dict[str, Any]] = []
            if self.new_events:
                events.append(event(EventType.OrchestratorStarted, self.now))
            events.extend(self.new_events)
            events.extend(self.out_events)
            if self.new_events:
                events.append(event(EventType.OrchestratorCompleted, self.now))
            self.batch.append_history(self.rec.instance_id, events)
            for e in events:
                self.st.history.append({**e, "IsPlayed": True})
        self.rec.updated = fmt_time(self.now)
        self.rec.book = self.book.to_dict()
        self.batch.instances[self.rec.instance_id] = self.rec


def _context_input(text: str | None) -> Any:
    """The SDK df_loads a string input and json.dumps a dict one; other JSON values (numbers,
    lists from a raw HTTP start) are handed over as JSON text so get_input() still decodes them."""
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, str | dict) else text


def _parse_result(result: str | None, error: BaseException | None) -> tuple[dict[str, Any], str | None]:
    """The SDK's OrchestratorState JSON, or its `$OutOfProcData$` error form: (state, error)."""
    if error is None:
        try:
            state = json.loads(result) if isinstance(result, str) else result
        except ValueError:
            return {}, f"orchestrator returned invalid JSON: {result!r:.200}"
        if not isinstance(state, dict):
            return {}, f"orchestrator returned {type(state).__name__}, expected the SDK's state JSON"
        return state, None
    message = str(error)
    if OOP_MARKER in message:
        head, _, tail = message.partition(OOP_MARKER)
        try:
            state = json.loads(tail)
        except ValueError:
            return {}, head.strip()
        return state, str(state.get("error") or head.strip())
    return {}, f"{type(error).__name__}: {message}"
