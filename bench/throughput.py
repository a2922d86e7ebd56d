"""Local durable throughput: N five-step sequential runs started at once, and one W-wide fan-out.

* devhost (SQLite state file, the app's host.json concurrency): a plain azure-functions-durable app
  (bench/apps/plain) and our engine's WorkflowApp (bench/apps/engine). Runs are started through
  devhost's task hub (what its HTTP start endpoints call), in-process.
* durabletask: its in-memory test backend (``durabletask.testing``, a gRPC sidecar in this process)
  with its Python worker; runs scheduled by its gRPC client from a pool of threads.
* DBOS on SQLite: ``@DBOS.workflow`` + ``@DBOS.step``, started with ``DBOS.start_workflow``; the
  fan-out is DBOS's documented pattern of child workflows started from the parent.

Timing starts before the first start call and ends when the last run has completed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row
from bench.dbos_peer import fan_out_workflows, launched
from engine.durable.checkpoint import OrchestratorInput

DEVHOST_PLAIN = "devhost, plain azure-functions-durable app"
DEVHOST_OURS = "devhost, ours (WorkflowApp)"
DURABLETASK = "durabletask, in-memory backend + Python worker"
DBOS_SQLITE = "DBOS on SQLite"
APPS = Path(ROOT) / "bench" / "apps"


# --- devhost ---------------------------------------------------------------------------------------


async def _start_all(hub: Any, name: str, inputs: list[str]) -> list[str]:
    return [hub.start_new(name, None, text).instance_id for text in inputs]


async def _unfinished(hub: Any, ids: list[str]) -> list[str]:
    hub.settle()  # what a client would read: committed state
    bad = [i for i in ids if hub.records[i].status in ("Failed", "Terminated")]
    if bad:
        rec = hub.records[bad[0]]
        raise RuntimeError(f"{rec.name} {bad[0]} ended {rec.status}: {rec.output}")
    return [i for i in ids if hub.records[i].status != "Completed"]


async def _output(hub: Any, iid: str) -> Any:
    return json.loads(hub.records[iid].output or "null")


def devhost(app: str, runs: int, width: int, reps: int) -> dict[str, list[float]]:
    from devhost.testing import _run, run_devhost

    plain = app == "plain"
    seq_name = "five_steps" if plain else "bench_five"
    fan_name = "fan_out" if plain else f"bench_fan{width}"
    # Ours start with the input the workflow API writes (a bare one would be admitted first).
    ours = OrchestratorInput.start(0).model_dump(mode="json")
    seq_input = json.dumps(0 if plain else ours)
    fan_input = json.dumps(width if plain else ours)
    expected_fan = sum(range(1, width + 1)) if plain else [width]
    out: dict[str, list[float]] = {"sequential": [], "fan_out": []}
    logging.getLogger("devhost").setLevel(logging.WARNING)
    for rep in range(reps + 1):  # the first repetition warms up (imports, first calls)
        with (
            tempfile.TemporaryDirectory() as folder,
            run_devhost(
                APPS / app,
                state=Path(folder) / "state.sqlite",
                in_memory=False,
                settings={"BENCH_FAN_WIDTH": str(width)},
            ) as host,
        ):
            hub = host.host.task_hub

            def measure(name: str, inputs: list[str], hub: Any = hub) -> tuple[float, list[str]]:
                started = time.perf_counter()
                ids = _run(_start_all(hub, name, inputs))
                # Only the runs still going are looked at again: the check runs on the host's own loop.
                remaining = _run(_unfinished(hub, ids))
                while remaining:
                    time.sleep(0.005)
                    remaining = _run(_unfinished(hub, remaining))
                return time.perf_counter() - started, ids

            elapsed, ids = measure(seq_name, [seq_input] * (runs if rep else min(runs, 20)))
            assert _run(_output(hub, ids[0])) == (5 if plain else [5])
            if rep:
                out["sequential"].append(len(ids) / elapsed)
            elapsed, ids = measure(fan_name, [fan_input])
            assert _run(_output(hub, ids[0])) == expected_fan
            if rep:
                out["fan_out"].append(elapsed)
    return out


# --- durabletask -----------------------------------------------------------------------------------


def durabletask(runs: int, width: int, reps: int) -> dict[str, list[float]]:
    from durabletask import task
    from durabletask.client import OrchestrationStatus, TaskHubGrpcClient
    from durabletask.testing import create_test_backend
    from durabletask.worker import TaskHubGrpcWorker

    logging.disable(logging.WARNING)
    port = 50000 + os.getpid() % 10000

    def add_one(ctx: task.ActivityContext, value: int) -> int:
        return value + 1

    def five_steps(ctx: task.OrchestrationContext, value: int) -> Any:
        for _ in range(5):
            value = yield ctx.call_activity(add_one, input=value)
        return value

    def fan_out(ctx: task.OrchestrationContext, count: int) -> Any:
        results = yield task.when_all([ctx.call_activity(add_one, input=i) for i in range(count)])
        return sum(results)

    out: dict[str, list[float]] = {"sequential": [], "fan_out": []}
    for rep in range(reps + 1):
        backend = create_test_backend(port=port)
        worker = TaskHubGrpcWorker(host_address=f"localhost:{port}")
        worker.add_orchestrator(five_steps)
        worker.add_orchestrator(fan_out)
        worker.add_activity(add_one)
        worker.start()
        client = TaskHubGrpcClient(host_address=f"localhost:{port}")
        try:
            count = runs if rep else min(runs, 20)
            started = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                ids = list(
                    pool.map(
                        lambda _, c=client: c.schedule_new_orchestration(five_steps, input=0), range(count)
                    )
                )
                states = list(
                    pool.map(lambda i, c=client: c.wait_for_orchestration_completion(i, timeout=900), ids)
                )
            elapsed = time.perf_counter() - started
            assert all(s is not None and s.runtime_status == OrchestrationStatus.COMPLETED for s in states)
            assert json.loads(states[0].serialized_output) == 5
            if rep:
                out["sequential"].append(count / elapsed)
            started = time.perf_counter()
            iid = client.schedule_new_orchestration(fan_out, input=width)
            state = client.wait_for_orchestration_completion(iid, timeout=900)
            elapsed = time.perf_counter() - started
            assert state is not None and json.loads(state.serialized_output) == sum(range(1, width + 1))
            if rep:
                out["fan_out"].append(elapsed)
        finally:
            worker.stop()
            client.close()
            backend.stop()
    return out


# --- DBOS --------------------------------------------------------------------------------------------


def dbos(runs: int, width: int, reps: int) -> dict[str, list[float]]:
    from dbos import DBOS

    out: dict[str, list[float]] = {"sequential": [], "fan_out": []}
    add_one, fan_out = fan_out_workflows()

    @DBOS.workflow()
    def five_steps(value: int) -> int:
        for _ in range(5):
            value = add_one(value)
        return value

    for rep in range(reps + 1):
        with launched():
            count = runs if rep else min(runs, 20)
            started = time.perf_counter()
            handles = [DBOS.start_workflow(five_steps, 0) for _ in range(count)]
            results = [h.get_result() for h in handles]
            elapsed = time.perf_counter() - started
            assert results[0] == 5
            if rep:
                out["sequential"].append(count / elapsed)
            started = time.perf_counter()
            total = DBOS.start_workflow(fan_out, width).get_result()
            elapsed = time.perf_counter() - started
            assert total == sum(range(1, width + 1))
            if rep:
                out["fan_out"].append(elapsed)
    return out


# --- the suite -------------------------------------------------------------------------------------

RUNNERS: dict[str, Callable[[int, int, int], dict[str, list[float]]]] = {
    DEVHOST_OURS: lambda r, w, n: devhost("engine", r, w, n),
    DEVHOST_PLAIN: lambda r, w, n: devhost("plain", r, w, n),
    DURABLETASK: durabletask,
    DBOS_SQLITE: dbos,
}
PEERS = (DURABLETASK, DBOS_SQLITE)


def rows_of(name: str, runs: int, width: int, result: dict[str, list[float]]) -> list[Row]:
    return [
        Row("throughput", "sequential", name, runs, "runs/s", result["sequential"], higher_is_better=True),
        Row("throughput", "fan_out", name, width, "s", result["fan_out"]),
    ]


def run_one(name: str, runs: int = 1000, width: int = 1000, reps: int = 3) -> list[Row]:
    return rows_of(name, runs, width, RUNNERS[name](runs, width, reps))


def log_rows(rows: list[Row], log: Callable[[str], None] = print) -> None:
    for row in rows:
        what = f"{row.n} five-step runs" if row.case == "sequential" else f"{row.n}-wide fan-out"
        log(
            f"  throughput {what:22} {row.runner:48} "
            f"best {row.best:8.2f}  median {row.median:8.2f} {row.unit}"
        )


def run(
    runs: int = 1000,
    width: int = 1000,
    reps: int = 3,
    *,
    peers: bool = True,
    log: Callable[[str], None] = print,
) -> list[Row]:
    rows: list[Row] = []
    for name in RUNNERS:
        if not peers and name in PEERS:
            continue
        got = run_one(name, runs, width, reps)
        log_rows(got, log)
        rows += got
    return rows


if (
    __name__ == "__main__"
):  # one runner in its own process: python -m bench.throughput NAME RUNS WIDTH REPS OUT
    import sys

    name, runs_, width_, reps_, target = sys.argv[1:6]
    got = run_one(name, int(runs_), int(width_), int(reps_))
    Path(target).write_text(json.dumps([r.to_dict() for r in got]))
    asyncio.run(asyncio.sleep(0))
