"""A durabletask worker serving an app's workflows: the same orchestrators and activities the Functions
app registers (``engine.functions.app``), on durabletask-python.

Registered: one orchestrator per workflow name (every version is served: a run replays on the graph it
started on), the map partition orchestrator, the step activity and the verify activity. durabletask runs
activities as plain functions in its thread pool; ours are coroutines, so they run on one event loop the
worker keeps in a thread of its own (a sync executor still runs in a thread of that loop's pool, as the
Functions worker runs sync functions: a step that blocks never stalls the others).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future
from typing import Any

from durabletask import task
from durabletask.worker import ConcurrencyOptions, TaskHubGrpcWorker

from engine.core.graph import Workflow
from engine.core.subworkflow import with_subworkflows
from engine.core.versions import WorkflowVersions
from engine.durable.answers import VERIFY_ACTIVITY, verify_answer
from engine.durable.map_partition import orchestrate_partition
from engine.durable.orchestrator import DEFAULT_CONTINUE_EVERY, STEP_ACTIVITY, orchestrate
from engine.durable.partition import PARTITION_ORCHESTRATOR
from engine.durable.step_activity import run_step
from engine.durable_task.context import DurableTaskContext, drive


class ActivityLoop:
    """One asyncio event loop in a daemon thread: durabletask's pool threads hand it coroutines."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="activity-loop", daemon=True)
        self._thread.start()

    def run(self, work: Awaitable[Any]) -> Any:
        """Run the coroutine on the loop and wait for its result (in the calling pool thread)."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(work, self.loop)  # type: ignore[arg-type]
        return future.result()

    def stop(self) -> None:
        """Stop the loop and wait (a few seconds at most) for its thread to end."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def _named(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    fn.__name__ = name  # durabletask registers a function under its __name__
    return fn


def register(
    worker: TaskHubGrpcWorker,
    workflows: Iterable[Workflow],
    loop: ActivityLoop,
    *,
    activity: str = STEP_ACTIVITY,
    continue_every: int = DEFAULT_CONTINUE_EVERY,
) -> WorkflowVersions:
    """Register every workflow's orchestrator (sub-workflows too), the partition orchestrator and the
    activities on ``worker``; the versions served."""
    versions = WorkflowVersions.of(with_subworkflows(workflows))
    for name in versions.newest():
        worker.add_orchestrator(_named(name, _orchestrator(versions, name, activity, continue_every)))

    def partition(ctx: task.OrchestrationContext, input_: Any) -> Any:
        return (
            yield from drive(
                orchestrate_partition(versions, DurableTaskContext(ctx, input_), activity=activity)
            )
        )

    worker.add_orchestrator(_named(PARTITION_ORCHESTRATOR, partition))

    def step(ctx: task.ActivityContext, request: Any) -> Any:
        return loop.run(run_step(versions, request))

    def verify(ctx: task.ActivityContext, request: Any) -> Any:
        return loop.run(verify_answer(request))

    worker.add_activity(_named(activity, step))
    worker.add_activity(_named(VERIFY_ACTIVITY, verify))
    return versions


def _orchestrator(versions: WorkflowVersions, name: str, activity: str, every: int) -> Callable[..., Any]:
    def orchestrator(ctx: task.OrchestrationContext, input_: Any) -> Any:
        context = DurableTaskContext(ctx, input_)
        return (
            yield from drive(
                orchestrate(versions, context, activity=activity, continue_every=every, name=name)
            )
        )

    return orchestrator


def concurrency() -> ConcurrencyOptions:
    """Room for a wide map's steps: durabletask's pool runs orchestrators and our activity hand-offs."""
    return ConcurrencyOptions(maximum_thread_pool_workers=32)


__all__ = ["ActivityLoop", "concurrency", "register"]
