"""A run's maps as people follow them: how many items of each batch are done, running, failed or waiting.

Everything comes from the history fold (``engine.durable.fold``), each fact from its one owner:

- the routing buffers the orchestrator carries (``buffers.gathering``): every batch still gathering, its
  size and the outputs routed so far (carried across continue-as-new in the checkpoint, never trimmed);
- the superstep in flight: the steps running now (``running``) and the attempts this execution has taken
  (``attempts_taken``), each step with its item tag; an item's outputs are routed only once its whole
  superstep has finished, so the items finished in the current superstep are read from its attempts;
- within the wave in flight, the orchestrator takes results in only when the whole wave has finished, so
  an item that finished before its siblings is read where the fold reads it: its result in the history,
  matched to the attempt the fold asked for by the step identity it carries (``RunSnapshot.requests``);
- the approvals open per item (``state.approvals``, each with its item tag, and the items asked in map
  partitions that have not reported yet, ``asking``);
- whether a failed attempt is the last one: ``engine.core.retry.retry_delay``, the runners' own decision.

A batch collected in an earlier execution (before a continue-as-new) is counted (``batches_begun``) but not
listed item by item: its gathering buffer is gone and the compact trail of earlier executions is capped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from engine.core.graph import Map, Workflow
from engine.core.mapping import Gather, ItemFailed, ItemTag
from engine.core.supersteps import Step
from engine.durable.history import HistoryEvent
from engine.durable.orchestrator import STEP_ACTIVITY
from engine.durable.run_snapshot import RunSnapshot, StepKey
from engine.durable.step_messages import StepResult
from engine.functions.retries import will_retry
from engine.functions.view_models import MapBatch, MapProgress

ItemState = Literal["done", "running", "failed", "waiting", "approval"]
Settled = Literal["done", "failed", "retry"]  # how an attempt's result in the history ends it
Key = tuple[str, int]  # (batch, item index)


@dataclass(frozen=True, slots=True)
class _Attempt:
    step: Step
    attempt: int
    result: StepResult


def _last_attempts(run: RunSnapshot) -> dict[Key, _Attempt]:
    """The latest attempt of each item step this execution has taken (the list is in the order taken)."""
    last: dict[Key, _Attempt] = {}
    for step, attempt, _scheduled, _completed, result, _superstep in run.attempts:
        item = step.delivery.item
        if item is not None:
            last[(item.batch, item.index)] = _Attempt(step, attempt, result)
    return last


def _is_final(workflow: Workflow, taken: _Attempt) -> bool:
    """Whether a failed attempt is the item's last: the same question the orchestrator asked."""
    return not will_retry(workflow, taken.step.executor_id, taken.result, taken.attempt)


def _settled(
    events: Sequence[HistoryEvent], activity: str, superstep: int
) -> dict[tuple[str, int, int], Settled]:
    """The step attempts of ``superstep`` whose result is in the history, by (executor, ordinal, attempt):
    ``done``, ``failed`` (for good: the activity raised) or ``retry`` (another attempt follows)."""
    settled: dict[tuple[str, int, int], Settled] = {}
    for event in events:
        if event.function_name != activity or event.type not in ("TaskCompleted", "TaskFailed"):
            continue
        result = event.step_result() if event.type == "TaskCompleted" else event.final_failure()
        step = result.step if result is not None else None
        if result is None or step is None or step.superstep != superstep:
            continue
        outcome: Settled = "done" if result.ok else "failed" if event.type == "TaskFailed" else "retry"
        settled[(step.executor, step.ordinal or 0, step.attempt)] = outcome
    return settled


class _Reader:
    """The state of any item of the run, from the fold (and, for the wave in flight, its history)."""

    def __init__(
        self,
        workflow: Workflow,
        run: RunSnapshot,
        finished: bool,
        events: Sequence[HistoryEvent],
        activity: str,
    ) -> None:
        self.workflow = workflow
        self.finished = finished
        self.attempts = _last_attempts(run)
        superstep = run.superstep
        asked: dict[tuple[str, int], int] = {}  # the latest attempt asked of each step of this superstep
        for executor_id, at, ordinal, attempt in run.requests:
            if at == superstep:
                asked[(executor_id, ordinal)] = max(attempt, asked.get((executor_id, ordinal), 0))
        settled = _settled(events, activity, superstep) if run.running else {}
        # Each item step of the wave in flight, and how its attempt ended if the history says so already
        # ("retry" too while its result is not in: it runs).
        self.running: dict[Key, Settled] = {}
        for step in run.running:
            item = step.delivery.item
            if item is not None:
                attempt = asked.get((step.executor_id, step.ordinal), 0)
                outcome = settled.get((step.executor_id, step.ordinal, attempt), "retry")
                self.running[(item.batch, item.index)] = outcome
        self.asked = {(a.item.batch, a.item.index) for a in run.open_approvals if a.item is not None}
        # Items asked in partitions count as asked until their partition reports its answers.
        for asked in run.asking:
            self.asked.update((tag.batch, tag.index) for tag in asked.items)

    def state(self, key: Key, gathered: dict[int, object] | None) -> ItemState:
        if gathered is not None and key[1] in gathered:
            return "failed" if isinstance(gathered[key[1]], ItemFailed) else "done"
        taken = self.attempts.get(key)
        if taken is not None and taken.result.ok:
            return "done"
        if taken is not None and _is_final(self.workflow, taken):
            return "failed"
        now = self.running.get(key)
        if now == "done" or now == "failed":
            return now
        if self.finished:
            return "waiting"  # the run ended before this item did: it never finished
        if now is not None:
            return "running"  # retried items included: their next attempt is in flight or on a timer
        return "approval" if key in self.asked else "waiting"


def _batch(batch: str, states: Counter[ItemState], total: int, collected: bool) -> MapBatch:
    return MapBatch(
        batch=batch,
        total=total,
        done=states["done"],
        running=states["running"],
        failed=states["failed"],
        waiting=states["waiting"] + states["approval"],
        approvals=states["approval"],
        collected=collected,
    )


def _number(batch: str) -> int:
    return int(batch.partition(".")[2] or 0)


def map_progress(
    workflow: Workflow,
    run: RunSnapshot | None,
    *,
    finished: bool,
    events: Sequence[HistoryEvent] = (),
    activity: str = STEP_ACTIVITY,
) -> list[MapProgress]:
    """One entry per map of the workflow, in declaration order. Its counts are those of its batches still
    gathering (summed), or else of its latest batch listed; ``batches`` lists each batch this execution
    can tell item by item, oldest first."""
    groups = [g for g in workflow.groups if isinstance(g, Map)]
    listed: dict[int, list[MapBatch]] = {i: [] for i in range(len(groups))}
    begun: dict[int, int] = {}
    if run is not None:
        reader = _Reader(workflow, run, finished, events, activity)
        begun = dict(run.map_batches)
        gathering: Mapping[str, Gather] = run.gathering
        for batch, gather in gathering.items():
            states = Counter(reader.state((batch, i), gather.results) for i in range(gather.count))
            listed[gather.map_index].append(_batch(batch, states, gather.count, collected=False))
        collected: dict[str, set[int]] = {}
        for batch, index in reader.attempts:
            if batch not in gathering:
                collected.setdefault(batch, set()).add(index)
        for batch, indexes in collected.items():
            states = Counter(reader.state((batch, i), None) for i in indexes)
            map_index = int(batch.partition(".")[0])
            if map_index in listed:
                listed[map_index].append(_batch(batch, states, len(indexes), collected=True))
    return [_entry(group, listed[i], begun.get(i, 0)) for i, group in enumerate(groups)]


def _entry(group: Map, batches: list[MapBatch], begun: int) -> MapProgress:
    batches.sort(key=lambda b: _number(b.batch))
    current = [b for b in batches if not b.collected] or batches[-1:]
    return MapProgress(
        node=group.target,
        source=group.source,
        collect=group.collect,
        max_parallel=group.max_parallel,
        on_item_error=group.on_item_error,
        total=sum(b.total for b in current),
        done=sum(b.done for b in current),
        running=sum(b.running for b in current),
        failed=sum(b.failed for b in current),
        waiting=sum(b.waiting for b in current),
        approvals=sum(b.approvals for b in current),
        batches_begun=begun,
        batches=batches,
    )


def step_items(run: RunSnapshot | None) -> dict[StepKey, ItemTag]:
    """The item each step attempt of this execution worked on, by (executor, superstep, ordinal, attempt):
    the timeline's rows say "item i" from it. An attempt its timeout cut short carries no step identity
    and is left out (its row shows its ordinal)."""
    if run is None:
        return {}
    items: dict[StepKey, ItemTag] = {}
    for step, attempt, _scheduled, _completed, result, _superstep in run.attempts:
        item = step.delivery.item
        if item is not None and result.step is not None:
            items[(step.executor_id, result.step.superstep, step.ordinal, attempt)] = item
    # The wave in flight: attempts whose results the history may hold before the orchestrator takes them in.
    superstep = run.superstep
    running = {
        (s.executor_id, s.ordinal): s.delivery.item for s in run.running if s.delivery.item is not None
    }
    for key in run.requests:
        executor_id, at, ordinal, _attempt = key
        item = running.get((executor_id, ordinal)) if at == superstep else None
        if item is not None:
            items.setdefault(key, item)
    return items
