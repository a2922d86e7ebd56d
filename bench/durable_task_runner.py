"""The Durable Task runner against a hand-written durabletask orchestration, on durabletask's in-memory
backend, in one process each, one after the other: five-step runs per second (1,000 runs, 8 started at a
time) and the makespan of one map of 10,000 trivial items.

Ours is the engine's worker (``engine.durable_task.worker``: the orchestrator replayed through the context
adapter, step requests and results as typed messages, steps on its activity loop) running the bench's
workflows (``bench_five``: five async steps in a chain; ``bench_map_scale``: a map the user would write,
partitions at the default size). The hand-written side is what a durabletask user writes by hand: five
``call_activity`` in a loop, and one ``when_all`` over 10,000 activities. Both run on the same backend
class (the engine's in-memory backend, ``engine.durable_task.memory_backend``, which differs from
durabletask's only when a worker dies) with the default history cap raised for the 10,000-wide fan-out.

A third side, the floor (five-step runs only), makes exactly ours' durabletask calls for a five-step run
(its custom status, our step request per step, our step activity) with none of our orchestrator's logic:
what ours cannot go below on this backend while it keeps typed steps, their idempotency keys and the
run's status.

    python -m bench.durable_task_runner [RUNS] [MAP_ITEMS] [REPS]
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from typing import Any

from durabletask import task
from durabletask.client import OrchestrationStatus, TaskHubGrpcClient
from durabletask.worker import TaskHubGrpcWorker

from bench import scale_workflows, workflows
from bench.common import Row, quiet_logs
from engine.core.supersteps import idempotency_key
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.orchestrator import STEP_ACTIVITY
from engine.durable.status import RunStatus
from engine.durable.step_messages import StepRequest
from engine.durable_task.memory_backend import RedeliveringBackend
from engine.durable_task.worker import ActivityLoop, concurrency, register

OURS = "ours (Durable Task runner)"
HAND = "durabletask, hand-written"
FLOOR = "floor: our step calls, no orchestrator logic"
FLOOR_ORCHESTRATOR = "bench_five_floor"


def _port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _hub(setup: Callable[[TaskHubGrpcWorker], None], history: int) -> Iterator[TaskHubGrpcClient]:
    port = _port()
    backend = RedeliveringBackend(port=port, max_history_size=history)
    backend.start()
    worker = TaskHubGrpcWorker(host_address=f"localhost:{port}", concurrency_options=concurrency())
    setup(worker)
    worker.start()
    client = TaskHubGrpcClient(host_address=f"localhost:{port}")
    try:
        yield client
    finally:
        worker.stop()
        client.close()
        backend.stop()


def _runs_per_second(client: TaskHubGrpcClient, name: str, inputs: list[Any], expected: Any) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: client.schedule_new_orchestration(name, input=i), inputs))
        states = list(pool.map(lambda i: client.wait_for_orchestration_completion(i, timeout=900), ids))
    elapsed = time.perf_counter() - started
    assert all(s is not None and s.runtime_status == OrchestrationStatus.COMPLETED for s in states), states[0]
    assert json.loads(states[0].serialized_output or "null") == expected
    return len(inputs) / elapsed


def _makespan(client: TaskHubGrpcClient, name: str, value: Any, expected: Any) -> float:
    started = time.perf_counter()
    iid = client.schedule_new_orchestration(name, input=value)
    state = client.wait_for_orchestration_completion(iid, timeout=1800)
    elapsed = time.perf_counter() - started
    assert state is not None and state.runtime_status == OrchestrationStatus.COMPLETED, state
    assert json.loads(state.serialized_output or "null") == expected
    return elapsed


def ours(runs: int, items: int, reps: int, *, warm: bool = True) -> dict[str, list[float]]:
    loop = ActivityLoop()
    served = [workflows.five_steps, scale_workflows.workflow]
    out: dict[str, list[float]] = {"sequential": [], "map": []}
    try:
        for rep in range(reps + 1 if warm else reps):  # with warm, the first warms up (imports, first calls)
            with _hub(lambda w: register(w, served, loop), history=4 * items + 100) as client:
                count, size = (runs, items) if rep or not warm else (20, 100)
                five = OrchestratorInput.start(0).model_dump(mode="json")
                rate = _runs_per_second(client, "bench_five", [five] * count, [5])
                scale = OrchestratorInput.start({"n": size}).model_dump(mode="json")
                total = sum(range(1, size + 1))
                makespan = _makespan(client, scale_workflows.NAME, scale, [total])
                if rep or not warm:
                    out["sequential"].append(rate)
                    out["map"].append(makespan)
    finally:
        loop.stop()
    return out


def hand_written(runs: int, items: int, reps: int, *, warm: bool = True) -> dict[str, list[float]]:
    def add_one(ctx: task.ActivityContext, value: int) -> int:
        return value + 1

    def five_steps(ctx: task.OrchestrationContext, value: int) -> Any:
        for _ in range(5):
            value = yield ctx.call_activity(add_one, input=value)
        return value

    def fan_out(ctx: task.OrchestrationContext, count: int) -> Any:
        results = yield task.when_all([ctx.call_activity(add_one, input=i) for i in range(count)])
        return sum(results)

    def setup(worker: TaskHubGrpcWorker) -> None:
        worker.add_orchestrator(five_steps)
        worker.add_orchestrator(fan_out)
        worker.add_activity(add_one)

    out: dict[str, list[float]] = {"sequential": [], "map": []}
    for rep in range(reps + 1 if warm else reps):
        with _hub(setup, history=4 * items + 100) as client:
            count, size = (runs, items) if rep or not warm else (20, 100)
            rate = _runs_per_second(client, "five_steps", [0] * count, 5)
            makespan = _makespan(client, "fan_out", size, sum(range(1, size + 1)))
            if rep or not warm:
                out["sequential"].append(rate)
                out["map"].append(makespan)
    return out


def _floor_five(ctx: task.OrchestrationContext, value: int) -> Any:
    """``bench_five`` as the floor runs it: per step, the status ours sets and our step request to our
    step activity; nothing else (no routing, checkpoint, trail, telemetry or approvals)."""
    workflow = workflows.five_steps
    started = ctx.current_utc_datetime.isoformat()
    executed = 0
    for superstep, node in enumerate(workflow.nodes, start=1):  # a chain: the nodes in order
        status = RunStatus(
            workflow=workflow.name, superstep=superstep, running_count=1, executed_count=executed
        )
        ctx.set_custom_status({**status.model_dump(mode="json"), "started_at": started})
        request = StepRequest.wire(
            workflow=workflow.name,
            executor=node,
            instance_id=ctx.instance_id,
            superstep=superstep,
            ordinal=0,
            attempt=1,
            version=workflow.version,
            idempotency_key=idempotency_key(workflow.name, ctx.instance_id, superstep, node, 0),
            message=value,
        )
        result = yield ctx.call_activity(STEP_ACTIVITY, input=request)
        value, executed = result["output"], executed + 1
    done = RunStatus(workflow=workflow.name, phase="completed", superstep=5, executed_count=executed)
    ctx.set_custom_status({**done.model_dump(mode="json"), "started_at": started})
    return [value]


def floor(runs: int, reps: int, *, warm: bool = True) -> dict[str, list[float]]:
    """Five-step runs per second of the floor (see the module's docstring)."""
    loop = ActivityLoop()

    def setup(worker: TaskHubGrpcWorker) -> None:
        register(worker, [workflows.five_steps], loop)
        _floor_five.__name__ = FLOOR_ORCHESTRATOR
        worker.add_orchestrator(_floor_five)

    out: dict[str, list[float]] = {"sequential": []}
    try:
        for rep in range(reps + 1 if warm else reps):
            with _hub(setup, history=1000) as client:
                count = runs if rep or not warm else 20
                rate = _runs_per_second(client, FLOOR_ORCHESTRATOR, [0] * count, [5])
                if rep or not warm:
                    out["sequential"].append(rate)
    finally:
        loop.stop()
    return out


def rows_of(runner: str, runs: int, items: int, result: dict[str, list[float]]) -> list[Row]:
    sequential = result["sequential"]
    rows = [Row("durabletask", "sequential", runner, runs, "runs/s", sequential, higher_is_better=True)]
    if "map" in result:
        rows.append(Row("durabletask", "map", runner, items, "s", result["map"]))
    return rows


def _measure(runs: int, items: int, reps: int, measured: dict[str, dict[str, list[float]]]) -> None:
    """A warm-up of each side, then ``reps`` rounds, each one measurement of each side."""
    hand_written(20, 100, 0, warm=True)
    ours(20, 100, 0, warm=True)
    floor(20, 0, warm=True)
    for _ in range(reps):
        for runner, side in ((HAND, hand_written), (OURS, ours)):
            got = side(runs, items, 1, warm=False)
            for case, samples in got.items():
                measured[runner][case] += samples
        measured[FLOOR]["sequential"] += floor(runs, 1, warm=False)["sequential"]


def run(runs: int = 1000, items: int = 10_000, reps: int = 3) -> list[Row]:
    """The sides alternated: a round is one measurement of each (after a warm-up of each), so a busy
    machine weighs on all alike; each round's ratio to the hand-written side is kept in the rows."""
    measured: dict[str, dict[str, list[float]]] = {
        HAND: {"sequential": [], "map": []},
        OURS: {"sequential": [], "map": []},
        FLOOR: {"sequential": []},
    }
    with quiet_logs(logging.WARNING):  # durabletask logs every work item
        _measure(runs, items, reps, measured)
    rows = [row for runner, got in measured.items() for row in rows_of(runner, runs, items, got)]
    hand = measured[HAND]
    for row in rows:
        if row.runner != HAND:
            pairs = zip(measured[row.runner][row.case], hand[row.case], strict=True)
            row.extra["ratio_per_round"] = [round(o / h, 3) for o, h in pairs]
        what = f"{row.n} five-step runs" if row.case == "sequential" else f"a {row.n}-item map"
        figures = f"best {row.best:8.2f}  median {row.median:8.2f} {row.unit}"
        print(f"  durabletask {what:22} {row.runner:30} {figures} {row.extra.get('ratio_per_round', '')}")
    return rows


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    run(*args)
