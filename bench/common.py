"""Shared helpers: repetitions, result rows, machine and version facts."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Row:
    """One measured line: a benchmark case, a runner, a size, and its repeated samples."""

    bench: str  # inmemory | replay | throughput
    case: str  # chain, fan_out, sequential, ...
    runner: str  # "ours", "Agent Framework", ...
    n: int
    unit: str  # what one sample is: "us/step", "s", "runs/s", ...
    samples: list[float]
    higher_is_better: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> float:
        return max(self.samples) if self.higher_is_better else min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["best"], data["median"] = self.best, self.median
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**fields)


def timed(prepare: Callable[[], Callable[[], Any]], reps: int, *, warmup: int = 1) -> list[float]:
    """Wall seconds of ``reps`` runs. ``prepare()`` (untimed) returns the thunk to time; GC runs between.

    The first ``warmup`` runs are not recorded (imports, caches, first-call costs).
    """
    for _ in range(warmup):
        prepare()()
    samples = []
    for _ in range(reps):
        thunk = prepare()
        gc.collect()
        started = time.perf_counter()
        thunk()
        samples.append(time.perf_counter() - started)
    return samples


def machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


PACKAGES = [
    "azure-functions",
    "azure-functions-durable",
    "pydantic",
    "agent-framework-core",
    "langgraph",
    "langgraph-checkpoint",
    "durabletask",
    "dbos",
    "SQLAlchemy",
    "matplotlib",
]


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def peers_available() -> bool:
    try:
        metadata.version("agent-framework-core")
        metadata.version("langgraph")
        metadata.version("durabletask")
        metadata.version("dbos")
    except metadata.PackageNotFoundError:
        return False
    return True


@contextlib.contextmanager
def quiet_logs(below: int, *names: str) -> Iterator[None]:
    """Records under ``below`` dropped while a suite runs: from the named loggers, or from every logger when
    none is named; put back afterwards, since suites run in the test process too (a level left behind
    silences devhost's console lines in the tests that follow)."""
    if not names:
        logging.disable(below - 1)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)
        return
    loggers = [logging.getLogger(name) for name in names]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(below)
    try:
        yield
    finally:
        for logger, level in zip(loggers, saved, strict=True):
            logger.setLevel(level)
