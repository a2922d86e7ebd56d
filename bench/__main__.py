"""``python -m bench``: every benchmark, ours and the peers in the same run, then RESULTS.md and the plot.

Each suite (and each durable runner) runs in its own process of this interpreter, one after the other,
so no peer's threads, servers or caches leak into another's numbers.

    python -m bench                 # everything (about 10-15 minutes on 2 cores)
    python -m bench --suites telemetry --no-report   # one suite, printed only
    python -m bench --quick         # small sizes, for trying the harness out
    python -m bench --ours-only     # no peers (what CI's smoke test exercises, in tests/bench)
    python -m bench --suites map --merge   # one suite again; the other suites' rows kept in RESULTS.md
    python -m bench --suites agents --merge --ours-only   # the agent loop's per-call overhead alone
    python -m bench --suites streams --merge --ours-only  # stream latency and cost per token alone
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row, machine, peers_available, versions
from bench.report import write_report

HERE = Path(ROOT) / "bench"
RAW = HERE / "results.json"

SUITE_CODE = """
import json, sys
from bench import {module} as m
rows = m.run({kwargs})
json.dump([r.to_dict() for r in rows], open(sys.argv[1], "w"))
"""


def _suite(module: str, kwargs: str, out: Path) -> list[Row]:
    code = SUITE_CODE.format(module=module, kwargs=kwargs)
    subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, check=True)
    return [Row.from_dict(d) for d in json.loads(out.read_text())]


def _throughput(name: str, runs: int, width: int, reps: int, out: Path) -> list[Row]:
    subprocess.run(
        [sys.executable, "-m", "bench.throughput", name, str(runs), str(width), str(reps), str(out)],
        cwd=ROOT,
        check=True,
    )
    rows = [Row.from_dict(d) for d in json.loads(out.read_text())]
    from bench.throughput import log_rows

    log_rows(rows)
    return rows


def _merged(rows: list[Row], earlier: dict[str, Any], meta: dict[str, Any]) -> list[Row]:
    """The rows just measured, plus the earlier run's rows of every bench not measured now; ``meta``
    records which suites came from that earlier run, and when it ran."""
    fresh = {r.bench for r in rows}
    kept = [Row.from_dict(d) for d in earlier.get("rows", []) if d["bench"] not in fresh]
    if kept:
        before = earlier.get("meta", {})
        meta["merged_from"] = {
            "date": before.get("date", "unknown"),
            "benches": sorted({r.bench for r in kept}),
        }
    return kept + rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    parser.add_argument("--ours-only", action="store_true", help="skip the peers")
    parser.add_argument(
        "--suites",
        default="inmemory,map,replay,throughput,maps,telemetry,durabletask,agents,streams",
        help="comma-separated subset to run",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of the suites not run from bench/results.json (their date stays in it)",
    )
    parser.add_argument("--no-report", action="store_true", help="print only; keep RESULTS.md as it is")
    args = parser.parse_args(argv)
    peers = not args.ours_only
    if peers and not peers_available():
        parser.error("the peers are not installed here: run bench/run.sh (make bench), or pass --ours-only")
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    quick = args.quick
    tmp = HERE / ".out"
    tmp.mkdir(exist_ok=True)
    began = time.time()
    rows: list[Row] = []
    if "inmemory" in suites:
        print("In-memory runner overhead (trivial async executors)", flush=True)
        n, reps = (200, 2) if quick else (1000, 7)
        rows += _suite("inmemory", f"n={n}, reps={reps}, peers={peers}", tmp / "inmemory.json")
    if "map" in suites:
        print("In-memory maps (one trivial step per item of a run-time list)", flush=True)
        n, reps = (1000, 2) if quick else (10_000, 5)
        rows += _suite("maps", f"n={n}, reps={reps}, peers={peers}", tmp / "maps.json")
    if "replay" in suites:
        print("Durable replay cost (orchestrator CPU)", flush=True)
        sizes = (50, 100, 200) if quick else (50, 100, 200, 400, 800)
        reps = 1 if quick else 3
        rows += _suite("replay", f"sizes={sizes}, reps={reps}, peers={peers}", tmp / "replay.json")
    if "throughput" in suites:
        print("Local durable throughput", flush=True)
        from bench.throughput import PEERS, RUNNERS

        runs, width, reps = (100, 100, 1) if quick else (1000, 1000, 3)
        for i, name in enumerate(RUNNERS):
            if peers or name not in PEERS:
                rows += _throughput(name, runs, width, reps, tmp / f"throughput{i}.json")
    if "telemetry" in suites:
        print("Telemetry overhead (in-memory chain)", flush=True)
        from bench.telemetry import MODES

        n, reps = (200, 2) if quick else (1000, 7)
        for i, mode in enumerate(MODES):
            rows += _suite("telemetry", f"n={n}, reps={reps}, mode={mode!r}", tmp / f"telemetry{i}.json")
    if "agents" in suites:
        print("Agent loop: per-call overhead against a plain step (devhost, in memory)", flush=True)
        runs, reps = (5, 1) if quick else (20, 3)
        rows += _suite("agent_loop", f"runs={runs}, reps={reps}", tmp / "agent_loop.json")
    if "streams" in suites:
        print("Streams: chunk write -> read latency, and the cost per token (devhost)", flush=True)
        chunks, runs, reps = (50, 5, 1) if quick else (500, 20, 3)
        rows += _suite("streams", f"chunks={chunks}, runs={runs}, reps={reps}", tmp / "streams.json")
    if "maps" in suites:
        print("Maps at scale (devhost, one map of N items)", flush=True)
        from bench import maps_at_scale

        width, sizes = (1000, (300, 1000, 3000)) if quick else (10_000, maps_at_scale.SIZES)
        rows += maps_at_scale.run(width, sizes, reps=1 if quick else 3, peers=peers, folder=tmp)
    if "durabletask" in suites:
        print("Durable Task runner beside a hand-written durabletask orchestration", flush=True)
        runs, items, reps = (100, 1000, 1) if quick else (1000, 10_000, 3)
        rows += _suite(
            "durable_task_runner", f"runs={runs}, items={items}, reps={reps}", tmp / "durabletask.json"
        )
    elapsed = time.time() - began
    print(f"done in {elapsed / 60:.1f} min", flush=True)
    if args.no_report:
        return 0
    meta = {
        "machine": machine(),
        "versions": versions(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "minutes": round(elapsed / 60, 1),
        "quick": quick,
        "peers": peers,
    }
    if args.merge and RAW.exists():
        rows = _merged(rows, json.loads(RAW.read_text()), meta)
    RAW.write_text(json.dumps({"meta": meta, "rows": [r.to_dict() for r in rows]}, indent=1) + "\n")
    write_report(rows, meta, HERE)
    print(f"wrote {HERE / 'RESULTS.md'} and {HERE / 'replay_growth.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
