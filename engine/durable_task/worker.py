"""A durabletask worker serving an app's workflows: the same orchestrators and activities the Functions
app registers (``engine.functions.app``), on durabletask-python.

Registered: one orchestrator per workflow name (every version is served: a run replays on the graph it
started on), the map partition orchestrator, the agent steps' orchestrator, the step activity, the agent
calls' activity and the verify activity. durabletask runs activities as plain functions in its thread pool;
ours are coroutines, so each pool thread runs them on an event loop of its own (a sync executor still runs
in the engine's step threads, as the Functions worker runs sync functions: a step that blocks never stalls
the others).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from durabletask import task
from durabletask.worker import ConcurrencyOptions, TaskHubGrpcWorker

from engine.core.graph import Workflow
from engine.core.subworkflow import with_subworkflows
from engine.core.versions import WorkflowVersions
from engine.durable.answers import VERIFY_ACTIVITY, verify_answer
from engine.durable.call_activity import run_step_call
from engine.durable.loop_messages import CALL_ACTIVITY, LOOP_ORCHESTRATOR
from engine.durable.loop_orchestration import orchestrate_loop
from engine.durable.map_partition import orchestrate_partition
from engine.durable.orchestrator import DEFAULT_CONTINUE_EVERY, STEP_ACTIVITY, orchestrate
from engine.durable.partition import PARTITION_ORCHESTRATOR
from engine.durable.step_activity import run_step
from engine.durable_task.context import DurableTaskContext, drive


class ActivityLoop:
    """Event loops for activities: durabletask runs an activity in a thread of its pool, and each such
    thread runs our coroutine on a loop of its own (kept for the thread's life), so activities neither
    hop to another thread nor queue behind one another on a single loop."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()

    def run(self, work: Coroutine[Any, Any, Any]) -> Any:
        """Run the coroutine on this pool thread's own loop and return its result."""
        loop = getattr(self._local, "loop", None)
        if loop is None:
            loop = self._local.loop = asyncio.new_event_loop()
            with self._lock:
                self._loops.append(loop)
        return loop.run_until_complete(work)

    def stop(self) -> None:
        """Close the loops the pool threads made (a loop still running is left to its thread)."""
        with self._lock:
            loops, self._loops = self._loops, []
        for loop in loops:
            if not loop.is_running():
                loop.close()


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
    """Register every workflow's orchestrator (sub-workflows too), the partition and agent-step
    orchestrators and the activities on ``worker``; the versions served."""
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

    def agent_loop(ctx: task.OrchestrationContext, input_: Any) -> Any:
        return (yield from drive(orchestrate_loop(versions, DurableTaskContext(ctx, input_))))

    worker.add_orchestrator(_named(LOOP_ORCHESTRATOR, agent_loop))

    def step(ctx: task.ActivityContext, request: Any) -> Any:
        return loop.run(run_step(versions, request))

    def call(ctx: task.ActivityContext, request: Any) -> Any:
        return loop.run(run_step_call(versions, request))

    def verify(ctx: task.ActivityContext, request: Any) -> Any:
        return loop.run(verify_answer(request))

    worker.add_activity(_named(activity, step))
    worker.add_activity(_named(CALL_ACTIVITY, call))
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
