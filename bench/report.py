"""RESULTS.md and the growth plot, from the rows of one ``python -m bench`` run."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench import maps_at_scale
from bench.common import Row
from engine.durable.orchestrator import DEFAULT_CONTINUE_EVERY

PUBLISHED = [
    (
        "Azure Storage provider, per instance",
        "about 5 sequential activities/s",
        "about 100 parallel activities/s",
        "-",
    ),
    (
        "Netherite, EP1",
        "250 sequential activities/s",
        "500 parallel activities/s",
        "50 five-step orchestrations/s",
    ),
]


def streams_table(rows: list[Row]) -> list[str]:
    """The streams suite's rows: latencies, run times, the cost per token."""
    out = ["| case | min | median |", "| --- | ---: | ---: |"]
    for r in _pick(rows, bench="streams"):
        out.append(f"| {r.case} | {_fmt(r.best, 2)} {r.unit} | {_fmt(r.median, 2)} {r.unit} |")
    return out


def agent_table(rows: list[Row]) -> list[str]:
    out = ["| case | min | median |", "| --- | ---: | ---: |"]
    for r in _pick(rows, bench="agent_loop"):
        out.append(f"| {r.case} | {_fmt(r.best, 2)} {r.unit} | {_fmt(r.median, 2)} {r.unit} |")
    return out


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _is_ours(runner: str) -> bool:
    return runner.startswith("ours") or runner.startswith("devhost")


def _pick(rows: Iterable[Row], **match: Any) -> list[Row]:
    return [r for r in rows if all(getattr(r, k) == v for k, v in match.items())]


def inmemory_table(rows: list[Row]) -> list[str]:
    out = [
        "| shape | runner | µs/step, min | µs/step, median | runs | vs ours (min) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for case in ("chain", "fan_out"):
        got = _pick(rows, bench="inmemory", case=case)
        ours = next((r for r in got if _is_ours(r.runner)), None)
        for r in got:
            ratio = f"{r.best / ours.best:.1f}x" if ours and not _is_ours(r.runner) else "—"
            shape = f"chain of {r.n}" if case == "chain" else f"fan-out {r.n} + fan-in"
            name = f"**{r.runner}**" if _is_ours(r.runner) else r.runner
            out.append(
                f"| {shape} | {name} | {_fmt(r.best)} | {_fmt(r.median)} | {len(r.samples)} | {ratio} |"
            )
    return out


MAP_TARGET = 10  # ours at least this many times faster per item than the fastest peer


def map_table(rows: list[Row]) -> list[str]:
    got = _pick(rows, bench="map")
    if not got:
        return ["(not measured in this run)"]
    out = [
        "| items | runner | µs/item, min | µs/item, median | runs | vs ours (min) | CPU µs/item, min "
        "| vs ours (CPU) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ours = next((r for r in got if _is_ours(r.runner)), None)
    ours_cpu = _cpu_best(ours) if ours else None
    for r in got:
        peer = ours is not None and not _is_ours(r.runner)
        ratio = f"{r.best / ours.best:.1f}x" if peer and ours else "—"
        cpu = _cpu_best(r)
        cpu_ratio = f"{cpu / ours_cpu:.1f}x" if peer and cpu and ours_cpu else "—"
        name = f"**{r.runner}**" if _is_ours(r.runner) else r.runner
        out.append(
            f"| {r.n:,} | {name} | {_fmt(r.best)} | {_fmt(r.median)} | {len(r.samples)} | {ratio} | "
            f"{_fmt(cpu) if cpu else '—'} | {cpu_ratio} |"
        )
    return out


def _cpu_best(row: Row) -> float | None:
    cpu = row.extra.get("cpu_us_per_item")
    return min(cpu) if cpu else None


def map_targets(rows: list[Row]) -> list[tuple[str, str, bool]]:
    got = _pick(rows, bench="map")
    ours = next((r for r in got if _is_ours(r.runner)), None)
    peers = [r for r in got if not _is_ours(r.runner)]
    if ours is None or not peers:
        return []
    fastest = min(peers, key=lambda r: r.best)
    factor = fastest.best / ours.best
    return [
        (
            f"in-memory map of {ours.n:,}: ≥ {MAP_TARGET}x faster per item than every peer",
            f"ours {_fmt(ours.best)} vs fastest peer ({fastest.runner}) {_fmt(fastest.best)} µs/item "
            f"({factor:.1f}x)",
            factor >= MAP_TARGET,
        )
    ]


def telemetry_table(rows: list[Row]) -> list[str]:
    got = _pick(rows, bench="telemetry")
    off = next((r for r in got if r.runner == "telemetry off"), None)
    out = [
        "| mode | chain of | µs/step, min | µs/step, median | runs | vs off (min) | spans exported |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in got:
        ratio = f"+{r.best - off.best:.1f} µs" if off is not None and r is not off else "—"
        spans = f"{r.extra['spans_exported']:,}" if "spans_exported" in r.extra else "—"
        cells = [r.runner, f"{r.n:,}", _fmt(r.best), _fmt(r.median), str(len(r.samples)), ratio, spans]
        out.append("| " + " | ".join(cells) + " |")
    return out


def replay_series(rows: list[Row]) -> dict[str, list[Row]]:
    series: dict[str, list[Row]] = {}
    for r in _pick(rows, bench="replay"):
        series.setdefault(r.runner, []).append(r)
    for runner in series:
        series[runner].sort(key=lambda r: r.n)
    return series


def replay_table(rows: list[Row]) -> list[str]:
    out = [
        "| N | runner | total CPU, min | total CPU, median | per step (min) | growth per doubling "
        "| executions | longest history | runs |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    series = replay_series(rows)
    ns = sorted({r.n for s in series.values() for r in s})
    for n in ns:
        for runner, got in series.items():
            r = next((x for x in got if x.n == n), None)
            if r is None:
                continue
            prev = next((x for x in got if x.n * 2 == n), None)
            growth = f"{(r.best / n) / (prev.best / prev.n):.2f}x" if prev else "—"
            name = f"**{runner}**" if _is_ours(runner) else runner
            out.append(
                f"| {n} | {name} | {_fmt(r.best, 2)} s | {_fmt(r.median, 2)} s | "
                f"{_fmt(r.best / n * 1000, 2)} ms | {growth} | {r.extra.get('executions', '')} | "
                f"{r.extra.get('longest_history', '')} | {len(r.samples)} |"
            )
    return out


def throughput_table(rows: list[Row]) -> list[str]:
    seq = _pick(rows, bench="throughput", case="sequential")
    fan = _pick(rows, bench="throughput", case="fan_out")
    if not seq:
        return []
    n_runs, width = seq[0].n, (fan[0].n if fan else 0)
    out = [
        f"| runner | {n_runs} five-step runs: runs/s, best | median | {width}-wide fan-out: makespan, best "
        "| median | repetitions |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in seq:
        f = next((x for x in fan if x.runner == r.runner), None)
        name = f"**{r.runner}**" if _is_ours(r.runner) else r.runner
        out.append(
            f"| {name} | {_fmt(r.best)} | {_fmt(r.median)} | "
            f"{_fmt(f.best, 2) + ' s' if f else '—'} | {_fmt(f.median, 2) + ' s' if f else '—'} | "
            f"{len(r.samples)} |"
        )
    return out


def durable_task_table(rows: list[Row]) -> list[str]:
    seq = _pick(rows, bench="durabletask", case="sequential")
    fan = _pick(rows, bench="durabletask", case="map")
    if not seq:
        return []
    out = [
        f"| runner | {seq[0].n} five-step runs: runs/s, best | median | {fan[0].n if fan else 0}-item map: "
        "makespan, best | median | ÷ hand-written, per round |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in seq:
        f = next((x for x in fan if x.runner == r.runner), None)
        name = f"**{r.runner}**" if _is_ours(r.runner) else r.runner
        rounds = ""
        if "ratio_per_round" in r.extra:
            rounds = f"runs/s {r.extra['ratio_per_round']}"
            if f is not None and "ratio_per_round" in f.extra:
                rounds += f"; makespan {f.extra['ratio_per_round']}"
        out.append(
            f"| {name} | {_fmt(r.best)} | {_fmt(r.median)} | "
            f"{_fmt(f.best, 2) + ' s' if f else '—'} | {_fmt(f.median, 2) + ' s' if f else '—'} | {rounds} |"
        )
    return out


def durable_task_targets(rows: list[Row]) -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    for case, rate in (("sequential", True), ("map", False)):
        got = _pick(rows, bench="durabletask", case=case)
        ours = next((r for r in got if _is_ours(r.runner)), None)
        hand = next((r for r in got if r.runner.startswith("durabletask")), None)  # not the floor
        if ours is None or hand is None:
            continue
        unit = "runs/s" if rate else "s"
        ok = ours.median >= hand.median if rate else ours.median <= hand.median
        out.append(
            (
                f"Durable Task runner {case}: {'≥' if rate else '≤'} the hand-written orchestration (median)",
                f"ours {_fmt(ours.median, 2)} vs {_fmt(hand.median, 2)} {unit}",
                ok,
            )
        )
    return out


def streams_targets(rows: list[Row]) -> list[tuple[str, str, bool]]:
    """Issue 28's target: a chunk read within 50 ms of its write (p95) on devhost, the worst repetition."""
    p95 = _pick(rows, bench="streams", case="devhost: chunk write -> read, p95")
    if not p95:
        return []
    worst = max(max(r.samples) for r in p95)
    return [
        (
            "streams on devhost: chunk write → read p95 < 50 ms",
            f"{_fmt(worst, 2)} ms (worst repetition)",
            worst < 50,
        )
    ]


def targets(rows: list[Row]) -> list[str]:
    out = ["| target | measured (best of the repetitions) | met |", "| --- | --- | :---: |"]

    def line(what: str, measured: str, ok: bool) -> None:
        out.append(f"| {what} | {measured} | {'yes' if ok else '**no**'} |")

    for case in ("chain", "fan_out"):
        got = _pick(rows, bench="inmemory", case=case)
        ours = next((r for r in got if _is_ours(r.runner)), None)
        if ours is None:
            continue
        line(f"in-memory {case}: ≤ 25 µs/step", f"{_fmt(ours.best)} µs/step", ours.best <= 25)
        peers = [r for r in got if not _is_ours(r.runner)]
        if peers:
            fastest = min(peers, key=lambda r: r.best)
            line(
                f"in-memory {case}: ahead of every peer",
                f"ours {_fmt(ours.best)} vs fastest peer ({fastest.runner}) {_fmt(fastest.best)} µs/step",
                ours.best < fastest.best,
            )
    for what, measured, ok in [*map_targets(rows), *durable_task_targets(rows), *streams_targets(rows)]:
        line(what, measured, ok)
    series = replay_series(rows)
    ours_series = next((s for k, s in series.items() if _is_ours(k)), [])
    if len(ours_series) >= 2:
        first, last = ours_series[0], ours_series[-1]
        factor = (last.best / last.n) / (first.best / first.n)
        line(
            f"replay: per-step cost at N={last.n} within 1.5x of N={first.n}",
            f"{_fmt(first.best / first.n * 1000, 2)} → {_fmt(last.best / last.n * 1000, 2)} ms/step "
            f"({factor:.2f}x)",
            factor <= 1.5,
        )
        hand = next((s for k, s in series.items() if not _is_ours(k)), [])
        for r in ours_series:
            h = next((x for x in hand if x.n == r.n), None)
            if h is not None:
                line(
                    f"replay N={r.n}: ahead of the hand-written orchestrator",
                    f"ours {_fmt(r.best, 2)} s vs {_fmt(h.best, 2)} s ({h.best / r.best:.2f}x faster)"
                    if r.best < h.best
                    else f"ours {_fmt(r.best, 2)} s vs {_fmt(h.best, 2)} s ({r.best / h.best:.2f}x slower)",
                    r.best < h.best,
                )
    seq = _pick(rows, bench="throughput", case="sequential")
    fan = _pick(rows, bench="throughput", case="fan_out")
    for r in [x for x in seq if _is_ours(x.runner)]:
        line(f"{r.runner}: ≥ 100 five-step runs/s", f"{_fmt(r.best)} runs/s", r.best >= 100)
        peers = [x for x in seq if not _is_ours(x.runner)]
        if peers:
            best_peer = max(peers, key=lambda x: x.best)
            line(
                f"{r.runner}: more runs/s than every local peer",
                f"{_fmt(r.best)} vs {_fmt(best_peer.best)} ({best_peer.runner})",
                r.best > best_peer.best,
            )
    for r in [x for x in fan if _is_ours(x.runner)]:
        line(f"{r.runner}: {r.n}-wide fan-out under 2 s", f"{_fmt(r.best, 2)} s", r.best < 2)
        peers = [x for x in fan if not _is_ours(x.runner)]
        if peers:
            best_peer = min(peers, key=lambda x: x.best)
            line(
                f"{r.runner}: fan-out faster than every local peer",
                f"{_fmt(r.best, 2)} s vs {_fmt(best_peer.best, 2)} s ({best_peer.runner})",
                r.best < best_peer.best,
            )
    return out


def plot(rows: list[Row], path: Path) -> bool:
    series = replay_series(rows)
    if not series:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for runner, got in series.items():
        ns = [r.n for r in got]
        style = {"marker": "o", "linewidth": 2.2} if _is_ours(runner) else {"marker": "s", "linestyle": "--"}
        left.plot(ns, [r.best / r.n * 1000 for r in got], label=runner, **style)
        right.plot(ns, [r.best for r in got], label=runner, **style)
    left.set(xscale="log", yscale="log", xlabel="supersteps N", ylabel="orchestrator CPU per step (ms)")
    left.set_title("Replay cost per step")
    right.set(xscale="log", yscale="log", xlabel="supersteps N", ylabel="total orchestrator CPU (s)")
    right.set_title("Total replay cost of a run")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    for ax in (left, right):
        ns = sorted({r.n for s in series.values() for r in s})
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_report(rows: list[Row], meta: dict[str, Any], folder: Path) -> None:
    png = folder / "replay_growth.png"
    plotted = plot(rows, png)
    m, v = meta["machine"], meta["versions"]
    lines = [
        "# Benchmarks: ours beside the peers",
        "",
        f"Generated by `make bench` (`bench/run.sh` → `python -m bench`) on {meta['date']}, in "
        f"{meta['minutes']} minutes{' (--quick sizes)' if meta.get('quick') else ''}. Every peer ran in the "
        "same run, on the same machine, one after the other. Each cell gives the best (min time, or max "
        "rate) and the median of the repetitions; the machine is shared, so medians are noisy.",
        "",
        *(
            [
                f"Rows of {', '.join(meta['merged_from']['benches'])} are kept from the run of "
                f"{meta['merged_from']['date']}; the rest were measured on {meta['date']}.",
                "",
            ]
            if meta.get("merged_from")
            else []
        ),
        f"**Machine:** {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['os']}, Python {m['python']}.",
        "",
        "**Versions:** " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        "## Targets",
        "",
        *targets(rows),
        *maps_at_scale.targets(rows)[2:],
        "",
        "## 1. In-memory runner overhead",
        "",
        "Trivial async executors (`x + 1`), so only the engine is measured: wall time of one run divided by "
        "the executor invocations (a chain of N: N; a fan-out of N then a fan-in: N + 2). Agent Framework: "
        "`WorkflowBuilder` with `Executor`/`@handler` classes and `workflow.run`; LangGraph: `StateGraph` "
        "(a list reducer for the fan-in), `ainvoke`, without and with `InMemorySaver`. Building the graph is "
        "not timed.",
        "",
        *inmemory_table(rows),
        "",
        "## 1b. In-memory maps",
        "",
        "One trivial step (`x + 1`) per item of a list of N ints known only at run time, then gathered "
        "(the sum): wall time of one run divided by N. Ours: `add_map(source, item, collect=gather)`. "
        "Agent Framework: one source executor sending N messages to one item executor, whose outputs a "
        "gather executor keeps until it has N. LangGraph: a conditional edge returning N "
        '`Send("item", ...)`, an `operator.add` list reducer, a gather node (no checkpointer). Building '
        "the graph is not timed. The runners take turns, one repetition each, so a busy moment on the "
        "shared machine falls on all of them; the CPU columns are the process's CPU time (all its "
        "threads), which such a moment stretches least. The target is judged on wall time.",
        "",
        *map_table(rows),
        "",
        "## 2. Durable replay cost",
        "",
        "Total orchestrator CPU of one sequential run of N supersteps, driving the real "
        "`azure-functions-durable` orchestrator handler episode by episode exactly as the host does "
        "(devhost's own `Episode` builds each context: the whole history of the current execution plus "
        "the new TaskCompleted; continue-as-new starts a new execution with an empty history). Ours is the "
        "orchestrator `WorkflowApp` registers for a chain-like loop workflow (`bench/workflows.py`, "
        f"continue-as-new every {DEFAULT_CONTINUE_EVERY} supersteps, the default); the peer is a "
        "hand-written orchestrator making the same "
        "sequence of N activity calls without continue-as-new. Large hand-written runs are repeated fewer "
        "times (they take minutes).",
        "",
        *replay_table(rows),
        "",
        f"![replay growth curves]({png.name})" if plotted else "",
        "",
        "## 3. Local durable throughput",
        "",
        "1,000 five-step sequential runs started at once (runs per second from the first start to the last "
        "completion), and the makespan of one orchestration fanning out to 1,000 trivial activities. "
        "devhost runs on a SQLite state file (WAL, every episode committed before its work is dispatched) "
        "with the app's host.json concurrency (64 activities, 16 orchestrators); ours adds a fan-in "
        "step after the fan-out (1,002 activities). durabletask: its in-memory test backend "
        "(`durabletask.testing.create_test_backend`, a gRPC sidecar in the process) and its Python worker; "
        "nothing is durable there. DBOS: SQLite system database, `@DBOS.workflow`/`@DBOS.step`, runs "
        "started with `DBOS.start_workflow`, the fan-out as child workflows (its documented pattern).",
        "",
        *throughput_table(rows),
        "",
        "Published Azure figures, for context only (**published, not measured here**):",
        "",
        "| backend | sequential | parallel | orchestrations |",
        "| --- | --- | --- | --- |",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in PUBLISHED],
        "",
        *maps_at_scale.section(rows, folder),
    ]
    if _pick(rows, bench="telemetry"):
        lines += [
            "## 5. Telemetry overhead",
            "",
            "The in-memory chain of section 1 (ours only), each mode in a process of its own: telemetry "
            "off (no exporter setting: every telemetry entry point returns at its first check), the "
            "OpenTelemetry SDK on with no span processor or metric reader (spans and metrics are recorded, "
            "then dropped), and the SDK exporting over OTLP/HTTP (protobuf) to a receiver on loopback, in a "
            "process of its own, that decodes every export and counts the spans (one per run and one per "
            "step attempt; every one arrived). A run's time includes flushing its spans.",
            "",
            *telemetry_table(rows),
            "",
        ]
    if _pick(rows, bench="agent_loop"):
        lines += [
            "## 6. Agent loop: per-call overhead",
            "",
            "An agent step makes each model call and each tool call on its own: durably each is an activity "
            "of the step's own orchestration (recorded, so a crash never repeats a finished call). Here an "
            "agent with 4 trivial function tools and the offline model (9 calls: 5 model calls, 4 tool "
            "calls) beside a plain step calling the same 4 functions itself (one activity). Runs one at a "
            "time: the median latency of a run; the overhead per call is the difference divided by the 9 "
            "calls. On devhost (SQLite state file, in-process) it is what recording a call costs: an "
            "activity scheduled and completed, an episode of the step's orchestration replaying its history; "
            "in memory, the loop itself (the state machine, the offline model, events).",
            "",
            *agent_table(rows),
            "",
        ]
    if _pick(rows, bench="streams"):
        lines += [
            "## 6b. Streams: what agents write, as they write it",
            "",
            "On devhost (in-process; streams in `streams.sqlite` beside the state file). Write -> read: a "
            "writer appends chunks (each holding the time it was written) to an agent step's stream, one "
            "every 10 ms, through the store the app uses; a reader in another thread follows it over HTTP "
            "(`GET .../stream?after=&wait=`, long-polled); a chunk's latency is its read time minus its "
            "write time (the SQLite commit, the route's 5 ms polling, the HTTP answer); p50 and p95 of each "
            "repetition (target: p95 under 50 ms). Cost per token: the median time the writer's append of "
            "one chunk takes (committed to SQLite), which is what streaming adds to a model call per token. "
            "Last, the agent step of section 6, one run at a time, streaming against `ENGINE_STREAMS=off` "
            "(nothing written): its answer is a few words, so the two differ by less than the noise.",
            "",
            *streams_table(rows),
            "",
        ]
    if _pick(rows, bench="durabletask"):
        lines += [
            "## 7. The Durable Task runner",
            "",
            "The engine's Durable Task worker (`python -m engine worker`: the orchestrator replayed through "
            "the context adapter, steps on its activity loops) beside what a durabletask user writes by hand "
            "(five `call_activity` in a loop; one `when_all` over the items), both on the same in-memory "
            "backend in this process (`engine.durable_task.memory_backend`), with the same worker "
            "concurrency. The two sides alternate, one round each, so a busy moment weighs on both; the last "
            "column is each round's ratio to the hand-written side (> 1 is ahead on runs/s, < 1 is ahead on "
            "makespan). The floor makes exactly ours' durabletask calls for a five-step run (the run's "
            "status, our step request per step, our step activity) with none of our orchestrator's logic: "
            "the most ours could reach on this backend while it keeps typed steps, their idempotency keys "
            "and the run's status.",
            "",
            *durable_task_table(rows),
            "",
        ]
    notes = folder / "NOTES.md"
    if notes.exists():
        lines += [notes.read_text().rstrip(), ""]
    (folder / "RESULTS.md").write_text("\n".join(lines))
