"""``python -m bench.ab``: two or more commits measured in turn (A B C A B C ...), on a shared machine.

Each ref is extracted (``git archive``) into a folder of its own and every measurement runs in a fresh
process of this interpreter in that folder, so the commits only differ by their code; the rounds
alternate, so a busy moment of the machine falls on all of them. Medians, spreads and each round's
ratio to the first ref are printed.

    python -m bench.ab replay --refs BASE HEAD OLD --n 800 --rounds 7
        the replay suite's ours at N (bench/replay.py): orchestrator CPU ms per step, one run each time
    python -m bench.ab maps --refs BASE HEAD --cases ours,ours_sync,hand --n 10000 --rounds 3
        bench/maps_at_scale.py cases: makespan (and devhost CPU) of one map on a fresh devhost each time;
        this tree's bench/ is laid over every ref, so older commits run the same cases (their engine and
        devhost, this harness and its workflows)

``HEAD`` (or ``WORKTREE``) may name the working tree as it is, uncommitted changes included.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT

REPLAY_CODE = """
import sys, json
from pathlib import Path
from bench import replay
n = int(sys.argv[1])
if Path("engine/durable/admission.py").exists():
    from engine.durable.checkpoint import OrchestratorInput
    value = OrchestratorInput.start({"left": n - 1}).model_dump(mode="json")
else:  # before runs were admitted: the input the replay suite gave then
    value = {"input": {"left": n - 1}}
app = replay.ours_app()
replay.drive(app, "bench_loop", value)  # warm-up
got = replay.drive(app, "bench_loop", value)
print(json.dumps({"ms_per_step": got["cpu"] / n * 1000}))
"""


def _tree(ref: str, into: Path, overlay_bench: bool) -> Path:
    folder = into / ref.replace("/", "_")
    if ref in ("HEAD", "WORKTREE"):
        shutil.copytree(
            ROOT,
            folder,
            ignore=shutil.ignore_patterns(".git", ".venv", ".out", ".venv-peers", "__pycache__", ".devhost"),
        )
        return folder
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    if overlay_bench:
        shutil.rmtree(folder / "bench")
        shutil.copytree(
            Path(ROOT) / "bench",
            folder / "bench",
            ignore=shutil.ignore_patterns(".out", ".venv-peers", "__pycache__"),
        )
    return folder


def _replay(folder: Path, n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", REPLAY_CODE, str(n)],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _maps(folder: Path, case: str, n: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, "-m", "bench.maps_at_scale", case, str(n), "1", out.name, "900"],
            cwd=folder,
            check=True,
            capture_output=True,
            timeout=1200,
        )
        got = json.loads(Path(out.name).read_text())[0]
    return {"makespan_s": got["makespan"], "devhost_cpu_s": got["devhost_cpu_s"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=("replay", "maps"))
    parser.add_argument("--refs", nargs="+", required=True, help="commits; HEAD is the working tree")
    parser.add_argument("--n", type=int, default=800)
    parser.add_argument("--cases", default="ours", help="maps: comma-separated bench.maps_at_scale cases")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c] if args.suite == "maps" else ["replay"]
    samples: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {ref: _tree(ref, Path(tmp), args.suite == "maps") for ref in args.refs}
        for round_ in range(1, args.rounds + 1):
            for case in cases:
                for ref, folder in trees.items():
                    got = _replay(folder, args.n) if args.suite == "replay" else _maps(folder, case, args.n)
                    samples.setdefault((case, ref), []).append(got)
                    shown = "  ".join(f"{k} {v:.3f}" for k, v in got.items())
                    print(f"round {round_} {case:10} {ref:12} {shown}", flush=True)
    print()
    first = args.refs[0]
    for case in cases:
        for key in samples[(case, first)][0]:
            for ref in args.refs:
                values = [s[key] for s in samples[(case, ref)]]
                ratios = [
                    s[key] / b[key] for s, b in zip(samples[(case, ref)], samples[(case, first)], strict=True)
                ]
                print(
                    f"{case:10} {key:14} {ref:12} median {statistics.median(values):8.3f}  "
                    f"min {min(values):8.3f}  max {max(values):8.3f}  "
                    f"ratio to {first}: median {statistics.median(ratios):.3f} "
                    f"({min(ratios):.3f}-{max(ratios):.3f})"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
