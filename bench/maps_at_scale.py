"""Maps at scale: one map of N trivial items on devhost, beside a hand-written ``task_all`` orchestrator on
the same devhost, durabletask's in-memory backend and DBOS on SQLite doing the same N-wide fan-out.

* ours: the project's app (``function_app.py``) with ``bench.scale_workflows`` loaded through the
  ``WORKFLOW_MODULES`` app setting, on ``python -m devhost`` (``devhost.testing.DevHostProcess``) with a
  SQLite state file. The run is started through its HTTP route and watched through the Durable status
  API. Above its partition size the map runs its items in sub-orchestrations ("partitions").
* ours, ``def`` steps (``ours_sync``): the same map with its item step a plain ``def`` (what most users
  write), which the engine runs off the event loop in its step threads (``engine/core/step_threads.py``).
* hand-written: ``bench/apps/plain``'s ``fan_out`` (``task_all`` over N ``add_one`` activities, one
  history), started through the Durable webhook on its own devhost process, same host.json concurrency.
* durabletask (in-memory backend + Python worker) and DBOS (SQLite, child workflows), as in
  ``bench/throughput.py``, at N.

Per devhost case, in a fresh devhost process and state file: the makespan (from the start request to
the status API answering Completed, polled every 10-50 ms), the largest single orchestration history
(every instance of the run, listed with ``instanceIdPrefix`` and read back with ``showHistory=true``),
and devhost's peak RSS (``VmHWM`` of its process, read before it stops). A tiny run warms each devhost up
first (imports, first calls). Every case runs in a process of its own.

    python -m bench.maps_at_scale CASE N REPS OUT.json     # one case (ours | hand | durabletask | dbos)
    BENCH_PROFILE=folder ...                                # devhost cases: cProfile of devhost there
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row
from bench.dbos_peer import fan_out_workflows, launched

OURS = "devhost, ours (partitioned map)"
OURS_SYNC = "devhost, ours (partitioned map, `def` item step)"
HAND = "devhost, hand-written azure-functions-durable task_all"
DURABLETASK = "durabletask, in-memory backend + Python worker"
DBOS_SQLITE = "DBOS on SQLite (child workflows)"
RUNNERS = {
    "ours": OURS,
    "ours_sync": OURS_SYNC,
    "hand": HAND,
    "durabletask": DURABLETASK,
    "dbos": DBOS_SQLITE,
}
PEERS = ("durabletask", "dbos")
WEBHOOK = "/runtime/webhooks/durabletask"
HISTORY_LIMIT = 3000
SYNC_LIMIT = 1.1  # a map of `def` steps against the same map of `async def` steps
RSS_LIMIT_MIB = 1536
PLOT = "maps_scale.png"
SIZES = (1_000, 3_000, 10_000, 30_000, 100_000)
# Our cases and the workflow each starts (bench/scale_workflows.py): the item step as `async def`, and
# as a plain `def`.
OURS_CASES = {"ours": "bench_map_scale", "ours_sync": "bench_map_scale_sync"}


# --- HTTP --------------------------------------------------------------------------------------------


def _call(method: str, url: str, body: Any = None, timeout: float = 120) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, payload = err.code, err.read()
    return status, json.loads(payload) if payload else None


def _rss_mib(pid: int, field: str = "VmHWM") -> float:
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (every thread)."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- devhost -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _devhost(case: str, folder: Path, extra: dict[str, str] | None = None) -> Iterator[Any]:
    from devhost.testing import DevHostProcess

    if case in OURS_CASES:
        app, settings = Path(ROOT), {"WORKFLOW_MODULES": "bench.scale_workflows", **(extra or {})}
    else:
        app, settings = Path(ROOT) / "bench" / "apps" / "plain", {}
    profile = os.environ.get("BENCH_PROFILE")
    host = (_ProfiledDevHost if profile else DevHostProcess)(
        app, folder / "state.sqlite", log_path=folder / "devhost.log", settings=settings
    )
    if profile:
        host.profile_out = Path(profile) / f"devhost-{case}-{os.getpid()}.prof"
    host.start(timeout=120)
    try:
        yield host
    finally:
        host.stop(timeout=120)


class _ProfiledDevHost:
    """devhost under ``bench.profile_devhost`` (cProfile in every thread): devhost stops cleanly on
    SIGTERM, so the profile is written when the case stops it."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from devhost.testing import DevHostProcess

        class Profiled(DevHostProcess):
            profile_out: Path

            def start(self, timeout: float = 30.0) -> Any:
                real = sys.executable
                wrapper = Path(self.state).parent / "python-cprofile"
                # DevHostProcess runs `python -m devhost ARGS`: the wrapper drops `-m devhost`.
                wrapper.write_text(
                    f'#!/bin/sh\nshift 2\nexec {real} -m bench.profile_devhost {self.profile_out} "$@"\n'
                )
                wrapper.chmod(0o755)
                sys.executable = str(wrapper)
                try:
                    return super().start(timeout)
                finally:
                    sys.executable = real

        return Profiled(*args, **kwargs)


def _start(case: str, base: str, n: int, iid: str) -> None:
    if case in OURS_CASES:
        name = OURS_CASES[case]
        status, body = _call("POST", f"{base}/api/workflows/{name}?instanceId={iid}", {"n": n})
    else:
        status, body = _call("POST", f"{base}{WEBHOOK}/orchestrators/fan_out/{iid}", n)
    if status != 202:
        raise RuntimeError(f"start of {iid} answered {status}: {body}")


def _wait(base: str, iid: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    began = time.monotonic()
    while True:
        _, status = _call("GET", f"{base}{WEBHOOK}/instances/{iid}")
        state = (status or {}).get("runtimeStatus")
        if state in ("Completed", "Failed", "Terminated"):
            if state != "Completed":
                raise RuntimeError(f"{iid} ended {state}: {status.get('output')}")
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"{iid} not finished after {timeout} s: {state}")
        time.sleep(0.01 if time.monotonic() - began < 2 else 0.05)


def _histories(base: str, iid: str) -> dict[str, int]:
    """Every instance of the run (the run and its partitions) and the number of events in its history."""
    _, listed = _call("GET", f"{base}{WEBHOOK}/instances?instanceIdPrefix={iid}&top=100000")
    sizes = {}
    for item in listed:
        _, status = _call("GET", f"{base}{WEBHOOK}/instances/{item['instanceId']}?showHistory=true")
        sizes[item["instanceId"]] = len(status["historyEvents"])
    return sizes


def _stored_events(state: Path, iid: str) -> dict[str, int]:
    """The events devhost keeps per instance (what a replay reads), counted in its stopped state file:
    the status API leaves out TaskScheduled, OrchestratorStarted/Completed and other bookkeeping."""
    with contextlib.closing(sqlite3.connect(state)) as db:
        rows = db.execute(
            "SELECT instance_id, count(*) FROM history WHERE instance_id = ? OR instance_id LIKE ? "
            "GROUP BY instance_id",
            (iid, iid + ":%"),
        ).fetchall()
    return dict(rows)


def devhost_case(
    case: str, n: int, reps: int = 1, timeout: float = 1800, settings: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """``reps`` measurements of one N-item map (``ours``) or ``task_all`` (``hand``), each on a fresh
    devhost process and state file (``settings``: more app settings for ours, e.g.
    ``WORKFLOW_MAP_PARTITION_SIZE``)."""
    expected = sum(range(1, n + 1))
    out = []
    for rep in range(reps):
        with tempfile.TemporaryDirectory() as tmp:
            with _devhost(case, Path(tmp), settings) as host:
                base, pid = host.base_url, host.proc.pid
                _start(case, base, 10, "warmup")
                _wait(base, "warmup", 120)
                idle = _rss_mib(pid, "VmRSS")
                iid = f"scale{rep}"
                cpu = _cpu_s(pid)
                started = time.perf_counter()
                _start(case, base, n, iid)
                status = _wait(base, iid, timeout)
                makespan = time.perf_counter() - started
                cpu = _cpu_s(pid) - cpu
                peak = _rss_mib(pid)
                output = status.get("output")
                assert output == ([expected] if case in OURS_CASES else expected), output
                sizes = _histories(base, iid)
            stored = _stored_events(Path(tmp) / "state.sqlite", iid)
        out.append(
            {
                "makespan": makespan,
                "devhost_cpu_s": round(cpu, 2),
                "largest_history": max(sizes.values()),
                "largest_stored_history": max(stored.values()),
                "run_history": sizes[iid],
                "instances": len(sizes),
                "peak_rss_mib": round(peak, 1),
                "idle_rss_mib": round(idle, 1),
            }
        )
    return out


# --- the peers ---------------------------------------------------------------------------------------


def durabletask_case(n: int, reps: int = 1, timeout: float = 1800) -> list[dict[str, Any]]:
    from durabletask import task
    from durabletask.client import OrchestrationStatus, TaskHubGrpcClient
    from durabletask.testing import create_test_backend
    from durabletask.worker import TaskHubGrpcWorker

    logging.disable(logging.WARNING)
    port = 50000 + os.getpid() % 10000

    def add_one(ctx: task.ActivityContext, value: int) -> int:
        return value + 1

    def fan_out(ctx: task.OrchestrationContext, count: int) -> Any:
        results = yield task.when_all([ctx.call_activity(add_one, input=i) for i in range(count)])
        return sum(results)

    out = []
    for rep in range(reps + 1):  # the first warms up (imports, first calls) on 10 items
        # Its default cap (10,000 history events per orchestration) refuses a 10,000-wide fan-out
        # (2N + 2 events): raised for the benchmark, and said so in NOTES.md.
        backend = create_test_backend(port=port, max_history_size=4 * n + 100)
        worker = TaskHubGrpcWorker(host_address=f"localhost:{port}")
        worker.add_orchestrator(fan_out)
        worker.add_activity(add_one)
        worker.start()
        client = TaskHubGrpcClient(host_address=f"localhost:{port}")
        try:
            count = n if rep else 10
            started = time.perf_counter()
            iid = client.schedule_new_orchestration(fan_out, input=count)
            state = client.wait_for_orchestration_completion(iid, timeout=int(timeout))
            elapsed = time.perf_counter() - started
            assert state is not None and state.runtime_status == OrchestrationStatus.COMPLETED, state
            assert json.loads(state.serialized_output) == sum(range(1, count + 1))
            if rep:
                out.append({"makespan": elapsed})
        finally:
            worker.stop()
            client.close()
            backend.stop()
    return out


def dbos_case(n: int, reps: int = 1, timeout: float = 1800) -> list[dict[str, Any]]:
    from dbos import DBOS

    _, fan_out = fan_out_workflows()
    out = []
    for rep in range(reps + 1):
        with launched():
            count = n if rep else 10
            started = time.perf_counter()
            total = DBOS.start_workflow(fan_out, count).get_result()
            elapsed = time.perf_counter() - started
            assert total == sum(range(1, count + 1))
            if rep:
                out.append({"makespan": elapsed})
    return out


CASES: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "ours": lambda n, reps, timeout: devhost_case("ours", n, reps, timeout),
    "ours_sync": lambda n, reps, timeout: devhost_case("ours_sync", n, reps, timeout),
    "hand": lambda n, reps, timeout: devhost_case("hand", n, reps, timeout),
    "durabletask": durabletask_case,
    "dbos": dbos_case,
}


# --- the suite ---------------------------------------------------------------------------------------


def row_of(case: str, n: int, measured: list[dict[str, Any]], *, timed_out: float | None = None) -> Row:
    if timed_out is not None:
        return Row("maps", "fan_out", RUNNERS[case], n, "s", [timed_out], extra={"timed_out": True})
    extra: dict[str, Any] = {}
    best = min(measured, key=lambda m: m["makespan"])
    for key in (
        "devhost_cpu_s",
        "largest_history",
        "largest_stored_history",
        "run_history",
        "instances",
        "idle_rss_mib",
    ):
        if key in best:
            extra[key] = best[key]
    if "peak_rss_mib" in best:
        extra["peak_rss_mib"] = max(m["peak_rss_mib"] for m in measured)
    return Row("maps", "fan_out", RUNNERS[case], n, "s", [m["makespan"] for m in measured], extra=extra)


def run_case(case: str, n: int, reps: int, out: Path, timeout: float = 1800) -> Row:
    """One case in a process of its own; a case that outlives ``timeout`` is recorded as such."""
    try:
        subprocess.run(
            [sys.executable, "-m", "bench.maps_at_scale", case, str(n), str(reps), str(out), str(timeout)],
            cwd=ROOT,
            check=True,
            timeout=timeout * (reps + 1) + 120,
        )
    except subprocess.TimeoutExpired:
        return row_of(case, n, [], timed_out=timeout)
    except subprocess.CalledProcessError as exc:  # recorded, and the other cases still run
        failed = {"failed": f"exit {exc.returncode}"}
        return Row("maps", "fan_out", RUNNERS[case], n, "s", [0.0], extra=failed)
    return row_of(case, n, json.loads(out.read_text()))


def log_row(row: Row, log: Callable[[str], None] = print) -> None:
    x = row.extra
    more = ""
    if "largest_history" in x:
        more = (
            f"  largest history {x['largest_history']:>6} events (of {x['instances']} instances)"
            f"  peak RSS {x['peak_rss_mib']:.0f} MiB"
        )
    if x.get("timed_out"):
        more = "  (timed out)"
    if x.get("failed"):
        more = f"  (FAILED: {x['failed']})"
    log(f"  maps N={row.n:<7} {row.runner:56} best {row.best:8.2f} s  median {row.median:8.2f} s{more}")


def run(
    width: int = 10_000,
    sizes: tuple[int, ...] = SIZES,
    reps: int = 3,
    *,
    hand_sizes: tuple[int, ...] = (1_000, 3_000, 10_000),
    peers: bool = True,
    big_reps: int = 1,
    timeout: float = 1800,
    folder: Path | None = None,
    log: Callable[[str], None] = print,
) -> list[Row]:
    """Ours at every size (``reps`` times up to ``width``, ``big_reps`` above); the hand-written
    orchestrator at ``hand_sizes``; the peers (``peers``) at ``width``."""
    folder = folder or Path(ROOT) / "bench" / ".out"
    folder.mkdir(parents=True, exist_ok=True)
    plan: list[tuple[str, int, int]] = []
    for n in sorted(set(sizes) | {width}):
        plan.append(("ours", n, reps if n <= width else big_reps))
        if n == width:  # the same map with `def` item steps, beside it
            plan.append(("ours_sync", n, reps))
        if n in hand_sizes or n == width:
            plan.append(("hand", n, reps if n <= width else big_reps))
    if peers:
        plan += [("durabletask", width, 1), ("dbos", width, 1)]
    rows = []
    for case, n, count in plan:
        row = run_case(case, n, count, folder / f"maps-{case}-{n}.json", timeout)
        log_row(row, log)
        rows.append(row)
    return rows


# --- the report ---------------------------------------------------------------------------------------


def _pick(rows: list[Row], runner: str) -> list[Row]:
    return sorted((r for r in rows if r.bench == "maps" and r.runner == runner), key=lambda r: r.n)


def _cell(r: Row | None) -> str:
    if r is None:
        return "—"
    if r.extra.get("failed"):
        return f"failed ({r.extra['failed']})"
    if r.extra.get("timed_out"):
        return f"> {r.best:,.0f} s (timed out)"
    return f"{r.best:,.2f} s"


def table(rows: list[Row]) -> list[str]:
    out = [
        "| N | runner | makespan, best | median | runs | devhost CPU (best run) "
        "| largest history: status API / stored events | instances | devhost peak RSS |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    order = list(RUNNERS.values())
    for r in sorted((r for r in rows if r.bench == "maps"), key=lambda r: (r.n, order.index(r.runner))):
        x = r.extra
        name = f"**{r.runner}**" if r.runner in (OURS, OURS_SYNC) else r.runner
        median = "—" if x.get("timed_out") or x.get("failed") else f"{r.median:,.2f} s"
        cpu = f"{x['devhost_cpu_s']:,.1f} s" if "devhost_cpu_s" in x else "—"
        history = (
            f"{x['largest_history']:,} / {x['largest_stored_history']:,}" if "largest_history" in x else "—"
        )
        rss = f"{x['peak_rss_mib']:,.0f} MiB" if "peak_rss_mib" in x else "—"
        out.append(
            f"| {r.n:,} | {name} | {_cell(r)} | {median} | {len(r.samples)} | {cpu} | {history} | "
            f"{x.get('instances', '—')} | {rss} |"
        )
    return out


def _measured(r: Row) -> bool:
    return not r.extra.get("failed") and not r.extra.get("timed_out")


def targets(rows: list[Row], width: int | None = None) -> list[str]:
    """Each target of "maps at scale", met or missed, with the numbers."""
    ours = _pick(rows, OURS)
    if not ours:
        return []
    out = ["| target | measured | met |", "| --- | --- | :---: |"]

    def line(what: str, measured: str, ok: bool) -> None:
        out.append(f"| {what} | {measured} | {'yes' if ok else '**no**'} |")

    width = width or max((r.n for r in rows if r.bench == "maps" and r.runner != OURS), default=ours[-1].n)
    at = next((r for r in ours if r.n == width and _measured(r)), None)
    hand = next((r for r in _pick(rows, HAND) if r.n == width and _measured(r)), None)
    if at is not None and hand is not None:
        line(
            f"map of {width:,}: makespan ≤ the hand-written task_all's",
            f"{at.best:,.2f} s vs {_cell(hand)} ({hand.best / at.best:.2f}x)",
            at.best <= hand.best,
        )
    sync = next((r for r in _pick(rows, OURS_SYNC) if r.n == width and _measured(r)), None)
    if at is not None and sync is not None:
        line(
            f"map of {width:,} with `def` item steps: makespan within {SYNC_LIMIT}x the `async def` map's "
            "(medians)",
            f"{sync.median:,.2f} s vs {at.median:,.2f} s ({sync.median / at.median:.2f}x; best "
            f"{sync.best:,.2f} vs {at.best:,.2f} s)",
            sync.median <= SYNC_LIMIT * at.median,
        )
    if at is not None:
        line(
            f"map of {width:,}: largest history ≤ {HISTORY_LIMIT:,} events",
            f"{at.extra['largest_history']:,} events (largest of {at.extra['instances']} instances; "
            f"the hand-written one: {hand.extra.get('largest_history', '—') if hand else '—'})",
            at.extra["largest_history"] <= HISTORY_LIMIT,
        )
        for runner in (DURABLETASK, DBOS_SQLITE):
            peer = next((r for r in _pick(rows, runner) if r.n == width and not r.extra.get("failed")), None)
            if peer is not None:
                line(
                    f"map of {width:,}: ≥ 5x faster than {runner}",
                    f"{at.best:,.2f} s vs {_cell(peer)} ({peer.best / at.best:.1f}x)",
                    peer.best >= 5 * at.best,
                )
    big = ours[-1]
    if big.n > width:
        done = not big.extra.get("timed_out") and not big.extra.get("failed")
        rss = big.extra.get("peak_rss_mib")
        line(
            f"map of {big.n:,} completes on devhost, peak RSS < 1.5 GiB",
            f"{_cell(big)}, peak RSS {rss:,.0f} MiB, largest history {big.extra.get('largest_history')}"
            if done
            else _cell(big),
            done and rss is not None and rss < RSS_LIMIT_MIB,
        )
    return out


def plot(rows: list[Row], path: Path) -> bool:
    ours = [r for r in _pick(rows, OURS) if not r.extra.get("timed_out") and not r.extra.get("failed")]
    if len(ours) < 2:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter, ScalarFormatter
    except ImportError:
        print("matplotlib is not installed: no plot")
        return False
    hand = [r for r in _pick(rows, HAND) if not r.extra.get("timed_out") and not r.extra.get("failed")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    mine = {"marker": "o", "linewidth": 2.2}
    theirs = {"marker": "s", "linestyle": "--"}
    left.plot([r.n for r in ours], [r.best for r in ours], label=OURS, **mine)
    right.plot([r.n for r in ours], [r.extra["largest_history"] for r in ours], label=OURS, **mine)
    if hand:
        left.plot([r.n for r in hand], [r.best for r in hand], label=HAND, **theirs)
        right.plot([r.n for r in hand], [r.extra["largest_history"] for r in hand], label=HAND, **theirs)
    for runner in (DURABLETASK, DBOS_SQLITE):
        for r in _pick(rows, runner):
            left.plot([r.n], [r.best], marker="^", linestyle="none", label=runner)
    right.axhline(HISTORY_LIMIT, color="grey", linestyle=":", label=f"{HISTORY_LIMIT:,} events")
    tallest = max(r.extra["largest_history"] for r in ours + hand)
    right.set_ylim(min(r.extra["largest_history"] for r in ours) / 2, max(tallest, HISTORY_LIMIT) * 3)
    left.set(xscale="log", yscale="log", xlabel="items N", ylabel="makespan (s)")
    left.set_title("Makespan of one N-wide map / fan-out")
    right.set(xscale="log", yscale="log", xlabel="items N", ylabel="events (status API history)")
    right.set_title("Largest single orchestration history")
    ns = sorted({r.n for r in ours + hand})
    for ax in (left, right):
        ax.set_xticks(ns, [f"{n:,}" for n in ns])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="both", alpha=0.3)

    left.legend(fontsize=7, loc="lower right")
    right.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def section(rows: list[Row], folder: Path) -> list[str]:
    """RESULTS.md's section for this suite (and the plot beside it); nothing when it did not run."""
    if not any(r.bench == "maps" for r in rows):
        return []
    plotted = plot(rows, folder / PLOT)
    return [
        "## 4. Maps at scale",
        "",
        "One map of N trivial items (`bench/scale_workflows.py`: a start step makes `list(range(N))`, "
        "`x + 1` per item, the sum collected) on devhost, as `python -m devhost` on a SQLite state file "
        "with the project's app and the workflow loaded through `WORKFLOW_MODULES`; the map's default "
        "partition size, so above it the items run in sub-orchestrations. At the width of the targets the "
        "same map runs again with its item step written as a plain `def` (run off the event loop, in the "
        "engine's step threads) instead of `async def`. Beside them: `bench/apps/plain`'s "
        "hand-written `task_all` over N sync `def` activities on its own devhost process (same host.json "
        "concurrency), durabletask's in-memory backend and DBOS on SQLite doing the same N-wide fan-out. "
        "Makespan: from the start request to the status API answering Completed (polled every 10 to 50 ms). "
        "Largest history: every instance of the run (`instanceIdPrefix`), read back with "
        "`showHistory=true`. Peak RSS: devhost's `VmHWM`. Each devhost case runs on a fresh process "
        "and state file, after a 10-item warm-up run.",
        "",
        *targets(rows),
        "",
        *table(rows),
        "",
        f"![maps at scale: makespan and largest history]({PLOT})" if plotted else "",
        "",
    ]


# One case in its own process: python -m bench.maps_at_scale CASE N REPS OUT [TIMEOUT]
if __name__ == "__main__":
    case_, n_, reps_, target = sys.argv[1:5]
    limit = float(sys.argv[5]) if len(sys.argv) > 5 else 1800.0
    got = CASES[case_](int(n_), int(reps_), limit)
    Path(target).write_text(json.dumps(got))
    os._exit(0)  # the peers' threads (gRPC, DBOS executors) must not hold the process up
