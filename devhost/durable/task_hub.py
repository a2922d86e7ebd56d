"""The task hub: work queue dispatch, episodes per instance, group commits, recovery.

Everything that touches task hub state runs on the host's event loop, so there are no locks:
an instance is driven by at most one task at a time (`running`), and every state change goes
through `_commit`, which writes one store transaction and only then dispatches the new work.

Episodes and activity results finishing in the same loop turn are committed together (`_defer`).
Until then their changes are in memory only: no work is dispatched for them, and every client read
(`record`, `list`, `history`) and every client write commits what is pending first (`settle`), so
nothing a client sees or is acknowledged is lost by a crash.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import OrchestrationTriggerConverter

from devhost.config.host_clock import Clock
from devhost.config.host_settings import HostSettings
from devhost.console import host_logs
from devhost.durable import sdk_speedups
from devhost.durable.activities import ActivityRunner
from devhost.durable.durable_timers import TimerService
from devhost.durable.entities import NOT_AN_ENTITY, Entities, find_entity, request_item
from devhost.durable.entity_messages import is_entity_instance, scheduler_id
from devhost.durable.episode import CHILD_ANSWERS, Episode, InstanceState
from devhost.durable.history import EventType, event, fmt_time, parse_time
from devhost.durable.new_instances import NOT_AN_ORCHESTRATOR, TERMINAL, create_instance
from devhost.durable.orchestration_versions import new_instance_version
from devhost.durable.replay_bookkeeping import Book
from devhost.durable.rewind import rewind_history
from devhost.durable.task_hub_store import Batch, EntityRecord, InstanceRecord, Store, WorkItem
from devhost.functions.indexing import FunctionIndex
from devhost.worker.invocation import Invoker

# A replay of a short history takes less time than handing it to a thread and back; a long one goes to
# the pool so HTTP requests are still served while it runs.
INLINE_CONTEXT_BYTES = 32_768

# While a long replay runs, the results of the instance's own activities come in slowly (they need the
# loop, and the GIL the replay holds), so a wide fan-out was replayed once per few dozen results. Before
# the next episode of an instance whose last one took longer than this, while it still has activities
# or sub-orchestrations in flight, devhost waits as long as that episode took: results gather, and at
# most about half of the time goes to replaying (a map's parent was replayed once per partition that
# finished, each replay routing every item). Nothing waits for a short replay, nor for a message when
# nothing of the instance is in flight (events, timers, a sequential step's result).
GATHER_AFTER_SECONDS = 0.010
# A parent of sub-orchestrations (a map's partitions) mostly only takes each child's answer in, and each
# of its replays takes the GIL from the children's own work (a map's parent routes every item again): it
# waits eight times as long as its last episode took, so at most about a ninth of the time goes to
# replaying it (3x: 12-14 parent episodes in a 10,000-item map of `def` steps; 8x: 10, the least being
# 8; bench/NOTES.md). Every wait ends as soon as nothing of the instance is in flight (checked at this
# interval), so the last answer is taken in at once.
CHILDREN_GATHER_FACTOR = 8
GATHER_POLL_SECONDS = 0.005


class TaskHubError(Exception):
    """A request the task hub refuses: the status the management API answers, and the extension's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ListFilter:
    """The instance list's filters: runtime statuses, a created-time range, an instance id prefix."""

    runtime_status: set[str] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    prefix: str | None = None


class TaskHub:
    """The app's task hub: instances, their histories and the work queue, and the episodes, activities,
    entities and timers that move them on."""

    def __init__(
        self,
        index: FunctionIndex,
        settings: HostSettings,
        store: Store,
        clock: Clock,
        invoker: Invoker,
        client_binding: Callable[[], str],
    ) -> None:
        sdk_speedups.install()
        self.index = index
        self.settings = settings
        self.store = store
        self.clock = clock
        self.invoker = invoker
        self.records: dict[str, InstanceRecord] = {}
        self.states: dict[str, InstanceState] = {}  # hot cache of live instances' histories
        self.ready: dict[str, list[WorkItem]] = {}
        self.held_msgs: dict[str, list[WorkItem]] = {}  # while suspended / not yet started
        # Messages of instances whose version this host rejects (versionFailureStrategy Reject): kept
        # queued, offered again with the instance's next message and to the next host run.
        self.rejected: dict[str, list[WorkItem]] = {}
        self._rejection_logged: set[str] = set()
        self.running: set[str] = set()
        self._next_work_id = 1
        self._pending = Batch()
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._orch_sem = asyncio.Semaphore(settings.max_concurrent_orchestrators)
        # Orchestrator code is CPU-bound replay; one small pool keeps the loop responsive.
        self._orch_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="devhost-orch")
        self.timers = TimerService(clock, self._enqueue)
        self.activities = ActivityRunner(
            index, invoker, settings.max_concurrent_activities, clock.now, client_binding, self._activity_done
        )
        self.entities = Entities(
            index,
            invoker,
            settings.max_concurrent_orchestrators,
            clock.now,
            self.alloc_work_id,
            self._defer,
            lambda iid: iid in self.records,
            settings.hub_name,
            settings.trace_inputs_and_outputs,
        )

    # ---- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Load the store, dispatch again everything queued when the host stopped (recovery), and run each
        live instance holding an event it already awaits."""
        loaded = self.store.load()
        self.records = loaded.instances
        self.entities.load(loaded.entities)
        self._next_work_id = max((w.id for w in loaded.work), default=0) + 1
        self.timers.start()
        for item in loaded.work:  # recovery: everything queued when the host stopped runs again
            self._dispatch(item)
        for iid, rec in self.records.items():
            if rec.status not in TERMINAL and Book.from_dict(rec.book).deliverable():
                self._kick(iid)

    async def stop(self) -> None:
        """Stop the timers, activities and entities, cancel the running episodes, commit what is pending."""
        await self.timers.stop()
        await self.activities.stop()
        await self.entities.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.settle()
        self._orch_pool.shutdown(wait=False, cancel_futures=True)

    def is_idle(self) -> bool:
        """Whether nothing is running, ready, in flight or left to commit (timers may be due later)."""
        return not (
            self.running
            or self.ready
            or self.activities.inflight
            or self.entities.busy()
            or not self._pending.empty()
            or self._flush_scheduled
        )

    # ---- EpisodeHost -------------------------------------------------------------------
    def alloc_work_id(self) -> int:
        """A new work item id, unique in this task hub."""
        wid = self._next_work_id
        self._next_work_id += 1
        return wid

    def get_record(self, instance_id: str) -> InstanceRecord | None:
        """The instance's record as the episodes see it, with changes not committed yet."""
        return self.records.get(instance_id)

    # ---- client reads: committed state only ------------------------------------------------
    def settle(self) -> None:
        """Commit what episodes and activities left pending, before a client reads or writes."""
        if not self._pending.empty():
            self._flush()

    def record(self, instance_id: str) -> InstanceRecord | None:
        """The instance's committed record (what is pending is committed first)."""
        self.settle()
        return self.records.get(instance_id)

    def has_orchestrator(self, name: str) -> bool:
        """In any case: a start or sub-orchestration named "Hello" reaches the function "hello"."""
        return name in self.index.orchestrators

    def has_entity(self, name: str) -> bool:
        """Whether the app has an entity function of this name (in any case)."""
        return find_entity(self.index, name) is not None

    # ---- commits and dispatch ------------------------------------------------------------
    def _commit(self, batch: Batch) -> None:
        self.settle()  # what is pending happened first; a purge must not be followed by it
        if batch.empty():
            return
        # The console lines of what this commits (an activity's Executing/Executed) are written first:
        # a kill -9 may lose a line of work that is still to be done again, never one of work done.
        host_logs.write_gathered()
        self.store.commit(batch)
        for iid in batch.purge:
            self.records.pop(iid, None)
            self.states.pop(iid, None)
            self.ready.pop(iid, None)
            self.held_msgs.pop(iid, None)
            self.rejected.pop(iid, None)
        for iid, rec in batch.instances.items():
            self.records[iid] = rec
            cached = self.states.get(iid)
            if cached is not None and (cached.record is not rec or rec.status in TERMINAL):
                self.states.pop(iid, None)  # replaced (restart) or finished: reload on demand
        for wid in batch.del_work:
            self.timers.cancel(wid)
        for item in batch.add_work:
            self._dispatch(item)

    def _dispatch(self, item: WorkItem) -> None:
        if item.kind == "activity":
            self.activities.submit(item)
        elif item.kind == "entity":
            self.entities.submit(item)
        elif item.due is not None and item.due > self.clock.timestamp():
            self.timers.add(item)
        else:
            self._enqueue(item)

    def _enqueue(self, item: WorkItem) -> None:
        self.ready.setdefault(item.instance_id, []).append(item)
        self._kick(item.instance_id)

    def _kick(self, iid: str) -> None:
        if iid in self.running:
            return
        if iid not in self.records:
            self.ready.pop(iid, None)  # purged meanwhile
            return
        self.running.add(iid)
        task = asyncio.create_task(self._drive(iid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _activity_done(self, item: WorkItem, ev: dict[str, Any]) -> None:
        batch = Batch(del_work=[item.id])
        if item.instance_id in self.records:
            batch.add_work.append(
                WorkItem(
                    self.alloc_work_id(),
                    item.instance_id,
                    "msg",
                    {"event": ev, "execution_id": item.payload.get("execution_id")},
                )
            )
        self._defer(batch)

    def _defer(self, batch: Batch) -> None:
        """Group commit: batches finishing in the same loop turn share one transaction."""
        self._pending.merge(batch)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_scheduled = False
        self._flush()

    def _flush(self) -> None:
        batch, self._pending = self._pending, Batch()
        try:
            self._commit(batch)
        except Exception:
            host_logs.logger.exception("devhost: failed to commit episodes and activity results")

    # ---- driving instances ---------------------------------------------------------------
    def _state(self, iid: str) -> InstanceState:
        st = self.states.get(iid)
        if st is None:
            rec = self.records[iid]
            history = [{**e, "IsPlayed": True} for e in self.store.load_history(iid)]
            st = InstanceState(rec, history, Book.from_dict(rec.book))
            self.states[iid] = st
        return st

    async def _drive(self, iid: str) -> None:
        try:
            while True:
                await self._let_results_gather(iid)
                if iid not in self.records:
                    break
                fresh = self.ready.pop(iid, [])
                if iid in self.rejected and not fresh:
                    break  # nothing new to offer an instance whose version this host rejects
                msgs = self.rejected.pop(iid, []) + fresh
                st = self._state(iid)
                runnable_held = st.record.status not in TERMINAL | {"Suspended"} and st.book.deliverable()
                if not msgs and not runnable_held:
                    break
                async with self._orch_sem:
                    began = time.perf_counter()
                    await self._episode(st, msgs)
                    st.last_episode_seconds = time.perf_counter() - began
        except Exception:
            host_logs.logger.exception("devhost: internal error while running instance %s", iid)
        finally:
            self.running.discard(iid)
            if self.ready.get(iid):
                self._kick(iid)

    async def _let_results_gather(self, iid: str) -> None:
        st = self.states.get(iid)
        took = st.last_episode_seconds if st is not None else 0.0
        if took <= GATHER_AFTER_SECONDS:
            return
        if self.activities.inflight_for(iid):
            wait, waiting = took, lambda: self.activities.inflight_for(iid) > 0
        elif self._children_out(st):
            wait, waiting = took * CHILDREN_GATHER_FACTOR, lambda: self._children_out(st)
        else:
            return
        # Not longer than that, nor once nothing of the instance is in flight any more.
        loop = asyncio.get_running_loop()
        until = loop.time() + wait
        while waiting():
            left = until - loop.time()
            if left <= 0:
                break
            await asyncio.sleep(min(left, GATHER_POLL_SECONDS))

    def _children_out(self, st: InstanceState | None) -> bool:
        """Whether sub-orchestrations of the instance are still running (started, their answer neither
        in its history nor among its messages waiting): a map's parent is replayed per partition answer
        otherwise, as a fan-out was per activity result."""
        if st is None:
            return False
        started = st.children_in_flight()
        if not started:
            return False
        waiting = sum(
            1
            for m in self.ready.get(st.record.instance_id, ())
            if m.kind == "msg" and m.payload.get("event", {}).get("EventType") in CHILD_ANSWERS
        )
        return started > waiting

    async def _episode(self, st: InstanceState, msgs: list[WorkItem]) -> None:
        rec = st.record
        ep = Episode(self, st, msgs, self.clock.now())
        if ep.begin():
            target = self.index.orchestrators.get(rec.name)
            if target is None:
                ep.finish(None, LookupError(NOT_AN_ORCHESTRATOR.format(rec.name)))
            else:
                # The function's own name (the record keeps the name it was started by, in its case).
                result, error = await self._run_orchestrator(
                    target.name, target.fn, target.trigger_param, ep.context_json or ""
                )
                ep.finish(result, error)
        self._defer(ep.batch)
        iid = rec.instance_id
        if ep.rejected:
            if iid not in self._rejection_logged:
                self._rejection_logged.add(iid)
                host_logs.logger.warning(
                    "devhost: orchestration %s (%s) has version %r, which does not match defaultVersion %r "
                    "under versionMatchStrategy %s: it is left as it is until a host whose settings match "
                    "runs it (versionFailureStrategy Reject).",
                    iid,
                    rec.name,
                    rec.version,
                    self.settings.default_version,
                    self.settings.version_match_strategy,
                )
            self.rejected[iid] = msgs
            return
        if ep.leftover:
            self.held_msgs.setdefault(iid, []).extend(ep.leftover)
        if rec.status not in ("Suspended", "Pending") and iid in self.held_msgs:
            self.ready[iid] = self.held_msgs.pop(iid) + self.ready.get(iid, [])
        for note in ep.notes:
            host_logs.orchestration(note.instance_id, note.name, note.what)

    async def _run_orchestrator(
        self, name: str, fn: Callable[..., Any], param: str, context_json: str
    ) -> tuple[str | None, BaseException | None]:
        def call() -> Any:
            # The worker's own conversion: the trigger value becomes func.OrchestrationContext.
            ctx = OrchestrationTriggerConverter.decode(
                meta.Datum(context_json, "json"), trigger_metadata=None
            )
            return fn(**{param: ctx})

        async def run() -> Any:
            if len(context_json) <= INLINE_CONTEXT_BYTES:
                return call()
            # In this context's copy: the orchestrator's log records name it (app_logs).
            context = contextvars.copy_context()
            return await asyncio.get_running_loop().run_in_executor(self._orch_pool, context.run, call)

        try:
            result = await self.invoker.call(name, run, {}, reason="(null)", wants_context=False)
            return result, None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return None, exc

    # ---- client operations (management API, SDK client) ------------------------------------
    def start_new(
        self, name: str, instance_id: str | None, input_text: str | None, version: str | None = None
    ) -> InstanceRecord:
        """Start an orchestration; ``version`` is the one its starter asked for (None: defaultVersion)."""
        if name not in self.index.orchestrators:
            raise TaskHubError(400, NOT_AN_ORCHESTRATOR.format(name))
        iid = instance_id or uuid.uuid4().hex
        if not iid or any(c in iid for c in "/\\#?") or len(iid) > 256:
            raise TaskHubError(400, f"Invalid instance ID '{iid}'.")
        if is_entity_instance(iid):
            # The extension keeps ids starting with '@' for entities (@name@key).
            raise TaskHubError(400, f"Orchestration instance ids must not start with @: '{iid}'.")
        existing = self.records.get(iid)
        if existing is not None and existing.status not in TERMINAL:
            raise TaskHubError(409, f"An instance with ID '{iid}' already exists and is {existing.status}.")
        batch = Batch()
        rec = create_instance(
            batch,
            self.alloc_work_id,
            name,
            iid,
            input_text,
            self.clock.now(),
            version=new_instance_version(self.settings, version),
        )
        self.states.pop(iid, None)
        self._commit(batch)
        return rec

    def require(self, iid: str, *, live: bool) -> InstanceRecord:
        """The instance's record: a 404 when there is none, a 410 when ``live`` and it has finished."""
        rec = self.record(iid)
        if rec is None:
            raise TaskHubError(404, f"No instance with ID '{iid}' found.")
        if live and rec.status in TERMINAL:
            raise TaskHubError(410, f"Instance '{iid}' is {rec.status}: it no longer accepts this operation.")
        return rec

    def _send(self, iid: str, payload: dict[str, Any]) -> None:
        batch = Batch()
        batch.add_work.append(WorkItem(self.alloc_work_id(), iid, "msg", payload))
        self._commit(batch)

    def raise_event(self, iid: str, name: str, input_text: str | None) -> None:
        """Queue event ``name`` for a live instance (410 once it has finished)."""
        self.require(iid, live=True)
        self._send(
            iid, {"event": event(EventType.EventRaised, self.clock.now(), Name=name, Input=input_text)}
        )

    def control(self, iid: str, op: str, reason: str) -> None:
        """Queue a terminate, suspend or resume for a live instance, taken in at its next episode."""
        self.require(iid, live=True)
        self._send(iid, {"control": op, "reason": reason})

    def rewind(self, iid: str, reason: str) -> None:
        """Rewind a failed instance (and its failed sub-orchestrations): see ``devhost.durable.rewind``."""
        rec = self.require(iid, live=False)
        if rec.status != "Failed":
            # The extension answers 410 Gone for a completed or terminated instance
            # (HttpApiHandler.HandleRewindInstanceRequestAsync); a live one cannot be rewound either.
            status = 410 if rec.status in ("Completed", "Terminated") else 409
            message = f"Instance '{iid}' is {rec.status}: only a failed instance can be rewound."
            raise TaskHubError(status, message)
        batch = Batch()
        leaves: list[InstanceRecord] = []
        self._rewind_into(batch, rec, leaves)
        for leaf in leaves:
            wake = event(EventType.GenericEvent, self.clock.now(), Data=reason)
            payload = {"event": wake, "execution_id": leaf.execution_id}
            batch.add_work.append(WorkItem(self.alloc_work_id(), leaf.instance_id, "msg", payload))
        self._commit(batch)
        host_logs.orchestration(iid, rec.name, f"rewound ({reason})" if reason else "rewound")

    def _rewind_into(self, batch: Batch, rec: InstanceRecord, leaves: list[InstanceRecord]) -> None:
        iid = rec.instance_id
        rewound = rewind_history(self.history(iid))
        children = [self.records.get(child) for child in rewound.children]
        for child_id, child in zip(rewound.children, children, strict=True):
            if child is None or child.status != "Failed":
                status = child.status if child is not None else "gone"
                raise TaskHubError(
                    409, f"Sub-orchestration '{child_id}' of '{iid}' is {status}: it cannot be rewound."
                )
        book = Book.from_dict(rec.book)
        book.rewound = sorted(set(book.rewound) | set(rewound.tasks))
        again = dataclasses.replace(rec, status="Running", output=None, updated=fmt_time(self.clock.now()))
        for task_id, fire_at in rewound.timers:
            fired = event(EventType.TimerFired, parse_time(fire_at), TimerId=task_id, FireAt=fire_at)
            item = WorkItem(
                self.alloc_work_id(),
                iid,
                "msg",
                {"event": fired, "execution_id": rec.execution_id},
                parse_time(fire_at).timestamp(),
            )
            batch.add_work.append(item)
            book.timers[str(task_id)] = item.id
        again.book = book.to_dict()
        batch.append_history(iid, rewound.events, reset=True)
        batch.instances[iid] = again
        self.states.pop(iid, None)
        for child in children:
            assert child is not None
            self._rewind_into(batch, child, leaves)
        if not children:
            leaves.append(again)

    def restart(self, iid: str, new_instance_id: bool) -> str:
        """Start the instance's orchestration again with its input, under the same id or a new one; the id."""
        rec = self.require(iid, live=False)
        target = uuid.uuid4().hex if new_instance_id else iid
        self.start_new(rec.name, target, rec.input)
        return target

    async def purge(self, iids: list[str]) -> int:
        """Delete those of these instances that exist, once none is running; how many were deleted."""
        iids = [i for i in iids if i in self.records]
        while any(i in self.running for i in iids):
            await asyncio.sleep(0.005)  # let a running episode commit first
        iids = [i for i in iids if i in self.records]
        if iids:
            self._commit(Batch(purge=set(iids)))
        return len(iids)

    def list(self, flt: ListFilter) -> list[InstanceRecord]:
        """The committed instances the filter lets through, by created time, then instance id."""
        self.settle()
        out = []
        for rec in self.records.values():
            if flt.runtime_status and rec.status not in flt.runtime_status:
                continue
            if flt.prefix and not rec.instance_id.startswith(flt.prefix):
                continue
            created = datetime.fromisoformat(rec.created.replace("Z", "+00:00"))
            if flt.created_from and created < flt.created_from:
                continue
            if flt.created_to and created > flt.created_to:
                continue
            out.append(rec)
        out.sort(key=lambda r: (r.created, r.instance_id))
        return out

    # ---- entities (entity client operations) ----------------------------------------------
    def signal_entity(self, name: str, key: str, op: str, input_text: str | None) -> None:
        """Queue a one-way operation for the entity, committed before this returns."""
        if not self.has_entity(name):
            raise TaskHubError(400, NOT_AN_ENTITY.format(name))
        item, _ = request_item(self.alloc_work_id(), name, key, op, input_text, self.clock.now(), signal=True)
        self._commit(Batch(add_work=[item]))

    def entity(self, name: str, key: str) -> EntityRecord | None:
        """The entity's committed record (None: it never existed)."""
        self.settle()
        return self.entities.records.get(scheduler_id(name, key))

    def list_entities(self) -> list[EntityRecord]:
        """Every entity, by instance id (what is pending is committed first)."""
        self.settle()
        return sorted(self.entities.records.values(), key=lambda r: r.instance_id)

    def history(self, iid: str) -> list[dict[str, Any]]:
        """The instance's history events (empty when it has none), committed first."""
        self.settle()
        st = self.states.get(iid)
        return list(st.history) if st is not None else self.store.load_history(iid)


def input_text_from_body(body: bytes) -> str | None:
    """Request body -> stored input JSON text (the host keeps whatever JSON value arrived)."""
    if not body.strip():
        return None
    json.loads(body)  # raises ValueError for bad JSON
    return body.decode("utf-8")
