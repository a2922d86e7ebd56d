"""The agent loop's per-call overhead: an agent step (each model and tool call recorded on its own)
against a plain step doing the same work in one activity, on devhost and in memory.

On devhost (the SQLite state file, in-process), one run at a time: the latency of a run of the plain step
and of a run of the agent step (``bench/agent_workflows.py``: the offline model, 4 tools, so 9 calls, each
an activity of the step's orchestration, plus the orchestration itself). The overhead per call is the
difference divided by the calls. In memory the same, with the calls made in-process: what the loop itself
costs, without durability.
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.agent_workflows import CALLS, agentic, plain
from bench.common import ROOT, Row, quiet_logs
from engine.durable.checkpoint import OrchestratorInput

APP = Path(ROOT) / "bench" / "apps" / "agents"
OURS = "ours"


def _latencies(runs: int, reps: int) -> dict[str, list[float]]:
    """Seconds per run, on devhost: the median of ``runs`` runs one after the other, per repetition."""
    from devhost.testing import _run, run_devhost

    started_input = json.dumps(OrchestratorInput.start({"key": "k"}).model_dump(mode="json"))
    out: dict[str, list[float]] = {"plain": [], "agent": []}
    for rep in range(reps + 1):  # the first repetition warms up
        with (
            tempfile.TemporaryDirectory() as folder,
            run_devhost(APP, state=Path(folder) / "state.sqlite", in_memory=False) as host,
        ):
            hub = host.host.task_hub
            for case, name in (("plain", plain.name), ("agent", agentic.name)):
                samples = []
                for _ in range(runs if rep else 2):
                    began = time.perf_counter()
                    iid = _run(_start(hub, name, started_input))
                    while not _run(_done(hub, iid)):
                        time.sleep(0.002)
                    samples.append(time.perf_counter() - began)
                if rep:
                    out[case].append(statistics.median(samples))
    return out


async def _start(hub: Any, name: str, text: str) -> str:
    return str(hub.start_new(name, None, text).instance_id)


async def _done(hub: Any, iid: str) -> bool:
    hub.settle()
    record = hub.records[iid]
    if record.status in ("Failed", "Terminated"):
        raise RuntimeError(f"{record.name} {iid} ended {record.status}: {record.output}")
    return bool(record.status == "Completed")


def _in_memory(runs: int, reps: int) -> dict[str, list[float]]:
    from engine import InMemoryRunner

    out: dict[str, list[float]] = {"plain": [], "agent": []}

    async def once(workflow: Any) -> float:
        runner = InMemoryRunner()
        began = time.perf_counter()
        result = await runner.run(workflow, {"key": "k"})
        assert result.status == "completed", result.error
        return time.perf_counter() - began

    for rep in range(reps + 1):
        for case, workflow in (("plain", plain), ("agent", agentic)):
            samples = [asyncio.run(once(workflow)) for _ in range(runs if rep else 5)]
            if rep:
                out[case].append(statistics.median(samples))
    return out


def _rows(measured: dict[str, list[float]], where: str, scale: float, unit: str, runs: int) -> list[Row]:
    per_call = [(a - p) / CALLS * scale for a, p in zip(measured["agent"], measured["plain"], strict=True)]
    return [
        Row(
            "agent_loop",
            f"{where}: plain step",
            OURS,
            runs,
            unit + "/run",
            [p * scale for p in measured["plain"]],
        ),
        Row(
            "agent_loop",
            f"{where}: agent step",
            OURS,
            runs,
            unit + "/run",
            [a * scale for a in measured["agent"]],
        ),
        Row(
            "agent_loop",
            f"{where}: per call",
            OURS,
            CALLS,
            unit + "/call",
            [max(x, 1e-9) for x in per_call],
            extra={"calls": CALLS},
        ),
    ]


def run(runs: int = 20, reps: int = 3, *, log: Callable[[str], None] = print) -> list[Row]:
    with quiet_logs(logging.WARNING, "devhost"):
        rows = _rows(_latencies(runs, reps), "devhost", 1000.0, "ms", runs)
    with quiet_logs(logging.ERROR, "engine.agents"):
        rows += _rows(_in_memory(runs * 5, reps), "in memory", 1_000_000.0, "us", runs * 5)
    for row in rows:
        log(f"  agent loop {row.case:24} best {row.best:10.2f}  median {row.median:10.2f} {row.unit}")
    return rows


__all__ = ["run"]
