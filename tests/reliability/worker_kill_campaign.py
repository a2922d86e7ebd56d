"""The worker-kill campaign of the Durable Task runner: the task hub in a backend process of its own, the
HTTP API (``engine serve --no-worker``) beside it, and a worker (``engine worker``) killed with ``kill -9``
at random moments and started again, while runs go on.

    python -m tests.reliability.worker_kill_campaign [--quick] [--seed N] [--json]

The backend is durabletask's in-memory backend run as a sidecar (``engine.durable_task.memory_sidecar``:
the same gRPC protocol as the Durable Task Scheduler emulator and Dapr), reached as
``durabletask:localhost:PORT``; it outlives every worker. The runs are the crash campaign's
(``tests.reliability.campaign``: the demo scenarios, fan-outs of side-effecting steps, a map with
failing items, a map of approvals asked in partitions answered through the run's links) and so is the
audit of their outcome: every run Completed with the in-memory runner's outputs (none lost, none stuck),
and every side effect in the ledger exactly once (``SIDE_EFFECT_LEDGER``), though steps ran again after
the kills.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from executors.ledger import SETTING as LEDGER_SETTING
from executors.ledger import SideEffectLedger
from tests.durable.conftest import SIGNING_KEY
from tests.durable.hostings import engine_serve
from tests.durable_task.sidecar import memory_sidecar
from tests.reliability.campaign import (
    MODULE,
    PROVIDER_PREFIXES,
    ROOT,
    CampaignConfig,
    CampaignResult,
    Driver,
    _expected_outputs,
    expected_effects,
    plan_runs,
)


@dataclass(frozen=True)
class WorkerKillConfig:
    seed: int = 4242
    kills: int = 12
    runs: CampaignConfig = field(
        default_factory=lambda: CampaignConfig(demo_rounds=2, fan_runs=4, map_runs=2)
    )
    min_uptime: float = 0.5  # seconds the worker runs between a start and the next kill ...
    max_uptime: float = 3.0  # ... drawn from the seeded RNG
    settle_timeout: float = 240.0

    @classmethod
    def quick(cls) -> WorkerKillConfig:
        """The reduced form CI runs."""
        return cls(kills=4, runs=CampaignConfig.quick(), max_uptime=1.5, settle_timeout=120.0)


@dataclass
class WorkerKillResult:
    seed: int
    kills: int = 0
    kills_mid_step: int = 0  # side-effecting steps were running when the worker was killed
    runs: int = 0
    completed_as_expected: int = 0
    lost_runs: int = 0
    stuck_runs: int = 0
    side_effects: int = 0
    expected_side_effects: int = 0
    duplicate_side_effects: int = 0
    missing_side_effects: int = 0
    step_executions: int = 0
    re_executions: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost_runs or self.stuck_runs or self.duplicate_side_effects or self.missing_side_effects
        )

    def summary(self) -> str:
        return (
            f"{self.runs} runs, {self.kills} worker kills ({self.kills_mid_step} mid-step): "
            f"{self.completed_as_expected} as expected, "
            f"{self.lost_runs} lost, {self.stuck_runs} stuck; side effects {self.side_effects} "
            f"(expected {self.expected_side_effects}, {self.duplicate_side_effects} duplicated, "
            f"{self.missing_side_effects} missing) over {self.step_executions} executions "
            f"({self.re_executions} again)" + (f"; problems: {self.problems[:10]}" if self.problems else "")
        )


def _worker(backend: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "engine", "worker", "--backend", backend]
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def run_worker_kill_campaign(config: WorkerKillConfig, workdir: Path) -> WorkerKillResult:
    result = WorkerKillResult(config.seed)
    ledger_path = workdir / "ledger.sqlite"
    settings = {LEDGER_SETTING: str(ledger_path), "APPROVAL_SIGNING_KEY": SIGNING_KEY}
    env = {k: v for k, v in os.environ.items() if not k.startswith(PROVIDER_PREFIXES)}  # offline agents
    env |= {**settings, "WORKFLOW_MODULES": MODULE, "PYTHONPATH": str(ROOT)}
    runs = plan_runs(config.runs)
    asyncio.run(_expected_outputs(runs))
    result.runs = len(runs)
    rng = random.Random(config.seed)
    with memory_sidecar(workdir / "sidecar.log") as port:
        backend = f"durabletask:localhost:{port}"
        with engine_serve(
            MODULE, workdir / "serve.log", backend=backend, extra=settings, worker=False
        ) as served:
            audit = CampaignResult(config.seed)
            driver = Driver(SimpleNamespace(base_url=served.base_url), runs, audit)  # type: ignore[arg-type]
            waves = [runs[i :: config.kills + 1] for i in range(config.kills + 1)]
            ledger = SideEffectLedger(ledger_path)
            worker = _worker(backend, env, workdir / "worker.log")
            for wave in waves[:-1]:
                for run in wave:
                    driver.start(run)
                # Killed while it works: once it has begun steps again, after a random while.
                begun = ledger.counts().executions
                driver.drive_until(lambda b=begun: ledger.counts().executions > b, 60)
                driver.drive_until(lambda: False, rng.uniform(config.min_uptime, config.max_uptime))
                result.kills_mid_step += ledger.counts().running > 0
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                result.kills += 1
                ledger.mark_interrupted()
                worker = _worker(backend, env, workdir / "worker.log")
            for run in waves[-1]:
                driver.start(run)
            try:
                driver.drive_until(lambda: all(r.final is not None for r in runs), config.settle_timeout)
            finally:
                worker.terminate()
                worker.wait(timeout=20)
            result.problems += audit.problems
    _audit(runs, SideEffectLedger(ledger_path), result)
    return result


def _audit(runs: list[Any], ledger: SideEffectLedger, result: WorkerKillResult) -> None:
    for run in runs:
        final = run.final
        if final is None:
            result.stuck_runs += 1
            result.problems.append(f"{run.instance_id}: never finished")
        elif final.get("runtimeStatus") != "Completed" or final.get("outputs") != run.expected:
            result.lost_runs += 1
            ended = f"{final.get('runtimeStatus')} {final.get('outputs')!r} {final.get('error')!r}"
            result.problems.append(f"{run.instance_id}: {ended}")
        else:
            result.completed_as_expected += 1
    effects = ledger.effects_by_instance()
    for run in runs:
        for executor_id, wanted in expected_effects(run).items():
            result.expected_side_effects += wanted
            got = effects.pop((run.instance_id, executor_id), 0)
            result.duplicate_side_effects += max(0, got - wanted)
            result.missing_side_effects += max(0, wanted - got)
            if got != wanted:
                result.problems.append(
                    f"{run.instance_id}: {executor_id} {got} side effects, {wanted} wanted"
                )
    for (iid, executor_id), got in effects.items():
        result.duplicate_side_effects += got
        result.problems.append(f"{iid}: unexpected side effect of {executor_id} ({got}x)")
    counts = ledger.counts()
    result.side_effects = counts.side_effects
    result.step_executions = counts.executions
    result.re_executions = counts.re_executions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.reliability.worker_kill_campaign", description=__doc__
    )
    parser.add_argument("--quick", action="store_true", help="the reduced form CI runs")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    config = WorkerKillConfig.quick() if args.quick else WorkerKillConfig()
    if args.seed is not None:
        config = WorkerKillConfig(**{**asdict(config), "seed": args.seed, "runs": config.runs})
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="worker-kill-") as folder:
        result = run_worker_kill_campaign(config, Path(folder))
    print(json.dumps(asdict(result), indent=2) if args.json else result.summary())
    print(f"took {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
