"""Smoke test of the benchmark harness (tiny sizes, ours only, no peers): it must not rot.

No timing is asserted here: benchmarks are not tests. Only that every suite runs and produces
well-formed result rows, and that the report renders from them.
"""

from __future__ import annotations

from pathlib import Path

from bench import (
    agent_loop,
    durable_task_runner,
    inmemory,
    maps,
    maps_at_scale,
    replay,
    streams,
    telemetry,
    throughput,
)
from bench.common import Row, machine, versions
from bench.report import write_report
from engine.durable.orchestrator import DEFAULT_CONTINUE_EVERY


def _well_formed(rows: list[Row], bench: str) -> None:
    assert rows
    for row in rows:
        assert row.bench == bench
        assert row.runner and row.case and row.unit and row.n > 0
        assert row.samples and all(s > 0 for s in row.samples)
        assert row.best in row.samples
        assert Row.from_dict(row.to_dict()) == row


def test_inmemory_suite_produces_rows() -> None:
    rows = inmemory.run(n=12, reps=1, peers=False, log=lambda _: None)
    _well_formed(rows, "inmemory")
    assert {r.case for r in rows} == {"chain", "fan_out"}
    assert all(r.runner == inmemory.OURS for r in rows)


def test_map_suite_produces_rows() -> None:
    rows = maps.run(n=25, reps=1, peers=False, log=lambda _: None)
    _well_formed(rows, "map")
    assert [(r.case, r.runner, r.unit) for r in rows] == [("map", maps.OURS, "us/item")]
    assert len(rows[0].extra["cpu_us_per_item"]) == len(rows[0].samples)


def test_replay_suite_produces_rows_across_continue_as_new() -> None:
    rows = replay.run(sizes=(3, 55), reps=1, peers=False, log=lambda _: None)
    _well_formed(rows, "replay")
    assert [r.n for r in rows] == [3, 55]
    # One execution per DEFAULT_CONTINUE_EVERY supersteps: 55 continues as new more than once.
    assert rows[1].extra["executions"] == -(-55 // DEFAULT_CONTINUE_EVERY) > 2


def test_replay_drives_the_hand_written_orchestrator() -> None:
    result = replay.drive(replay.hand_app(), "hand_chain", {"n": 4})
    assert result["output"] == 4 and result["episodes"] == 5


def test_devhost_throughput_produces_rows() -> None:
    rows = []
    for name in (throughput.DEVHOST_OURS, throughput.DEVHOST_PLAIN):
        rows += throughput.run_one(name, runs=3, width=4, reps=1)
    _well_formed(rows, "throughput")
    assert {r.case for r in rows} == {"sequential", "fan_out"}


def test_telemetry_suite_produces_rows_and_exports_every_span() -> None:
    rows = []
    for mode in telemetry.MODES:
        rows += telemetry.run(n=12, reps=1, mode=mode, log=lambda _: None)
    _well_formed(rows, "telemetry")
    assert [r.runner for r in rows] == list(telemetry.MODES)
    assert rows[-1].extra["spans_exported"] == 2 * 13  # the warm-up run and the timed one, 12 steps + the run


def test_report_renders(tmp_path: Path) -> None:
    rows = [
        Row("inmemory", "chain", inmemory.OURS, 10, "us/step", [3.0, 4.0]),
        Row("inmemory", "chain", "Peer", 10, "us/step", [30.0]),
        Row("map", "map", maps.OURS, 10_000, "us/item", [2.0, 2.5], extra={"cpu_us_per_item": [1.5, 2.0]}),
        Row("map", "map", "Peer", 10_000, "us/item", [30.0], extra={"cpu_us_per_item": [24.0]}),
        Row("replay", "sequential", replay.OURS, 50, "s", [0.5]),
        Row("replay", "sequential", replay.OURS, 100, "s", [1.0]),
        Row("replay", "sequential", replay.HAND, 50, "s", [0.4]),
        Row("throughput", "sequential", throughput.DEVHOST_OURS, 10, "runs/s", [120.0], True),
        Row("throughput", "fan_out", throughput.DEVHOST_OURS, 10, "s", [0.5]),
        Row("telemetry", "chain", telemetry.OFF, 10, "us/step", [12.0]),
        Row("durabletask", "sequential", durable_task_runner.HAND, 10, "runs/s", [50.0], True),
        Row("durabletask", "map", durable_task_runner.HAND, 100, "s", [2.0]),
        Row(
            "durabletask",
            "sequential",
            durable_task_runner.OURS,
            10,
            "runs/s",
            [40.0],
            True,
            extra={"ratio_per_round": [0.8]},
        ),
        Row(
            "durabletask", "map", durable_task_runner.OURS, 100, "s", [1.5], extra={"ratio_per_round": [0.75]}
        ),
        Row(
            "durabletask",
            "sequential",
            durable_task_runner.FLOOR,
            10,
            "runs/s",
            [45.0],
            True,
            extra={"ratio_per_round": [0.9]},
        ),
        Row("telemetry", "chain", telemetry.OTLP, 10, "us/step", [40.0], extra={"spans_exported": 22}),
        Row("agent_loop", "devhost: per call", agent_loop.OURS, 9, "ms/call", [6.25, 7.0]),
        Row("streams", "devhost: chunk write -> read, p95", "ours", 200, "ms", [6.0, 61.5]),
    ]
    meta = {"machine": machine(), "versions": versions(), "date": "today", "minutes": 0.1}
    write_report(rows, meta, tmp_path)
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| chain of 10 | **ours (InMemoryRunner)** | 3.0 | 3.5 |" in text
    assert "| 10,000 | **ours (InMemoryRunner)** | 2.0 | 2.2 | 2 | — | 1.5 | — |" in text
    assert "| 10,000 | Peer | 30.0 | 30.0 | 1 | 15.0x | 24.0 | 16.0x |" in text
    target = "faster per item than every peer | ours 2.0 vs fastest peer (Peer) 30.0 µs/item (15.0x) | yes"
    assert target in text
    assert "Published Azure figures" in text and "not measured here" in text
    assert "| SDK on, OTLP/HTTP to loopback | 10 | 40.0 | 40.0 | 1 | +28.0 µs | 22 |" in text
    assert (
        "| **ours (Durable Task runner)** | 40.0 | 40.0 | 1.50 s | 1.50 s | runs/s [0.8]; makespan [0.75] |"
        in text
    )
    assert f"| {durable_task_runner.FLOOR} | 45.0 | 45.0 | — | — | runs/s [0.9] |" in text
    # The targets compare ours with the hand-written side, never with the floor.
    assert (
        "sequential: ≥ the hand-written orchestration (median) | ours 40.00 vs 50.00 runs/s | **no**" in text
    )
    assert "map: ≤ the hand-written orchestration (median) | ours 1.50 vs 2.00 s | yes" in text
    assert "| devhost: per call | 6.25 ms/call | 6.62 ms/call |" in text
    p95_target = "| streams on devhost: chunk write → read p95 < 50 ms | 61.50 ms (worst repetition) |"
    assert p95_target + " **no** |" in text


def test_durable_task_suite_alternates_ours_the_hand_written_orchestration_and_the_floor() -> None:
    rows = durable_task_runner.run(runs=4, items=30, reps=1)
    _well_formed([r for r in rows if r.case == "sequential"], "durabletask")
    _well_formed([r for r in rows if r.case == "map"], "durabletask")
    assert [(r.runner, r.case) for r in rows] == [
        (durable_task_runner.HAND, "sequential"),
        (durable_task_runner.HAND, "map"),
        (durable_task_runner.OURS, "sequential"),
        (durable_task_runner.OURS, "map"),
        (durable_task_runner.FLOOR, "sequential"),
    ]
    assert all(len(r.extra["ratio_per_round"]) == 1 for r in rows if r.runner != durable_task_runner.HAND)


def test_maps_at_scale_runs_a_partitioned_map_on_devhost(tmp_path: Path) -> None:
    settings = {"WORKFLOW_MAP_PARTITION_SIZE": "10"}  # 30 items: three partitions
    got = maps_at_scale.devhost_case("ours", 30, 1, 120, settings)
    assert got[0]["instances"] == 4 and got[0]["largest_history"] < got[0]["largest_stored_history"]
    row = maps_at_scale.row_of("ours", 30, got)
    _well_formed([row], "maps")
    hand = maps_at_scale.row_of("hand", 30, maps_at_scale.devhost_case("hand", 30, 1, 120))
    assert hand.extra["instances"] == 1 and hand.extra["peak_rss_mib"] > 0
    sync = maps_at_scale.row_of(
        "ours_sync", 30, maps_at_scale.devhost_case("ours_sync", 30, 1, 120, settings)
    )
    assert sync.extra["instances"] == 4
    text = "\n".join(maps_at_scale.section([row, sync, hand], tmp_path))
    assert "## 4. Maps at scale" in text and "| map of 30: makespan ≤ the hand-written" in text
    assert "| map of 30 with `def` item steps: makespan within 1.1x" in text


def test_agent_loop_suite_produces_rows() -> None:
    rows = agent_loop.run(runs=2, reps=1, log=lambda _: None)
    _well_formed(rows, "agent_loop")
    assert [r.case for r in rows] == [
        "devhost: plain step",
        "devhost: agent step",
        "devhost: per call",
        "in memory: plain step",
        "in memory: agent step",
        "in memory: per call",
    ]


def test_streams_suite_produces_rows() -> None:
    rows = streams.run(chunks=20, runs=2, reps=1, log=lambda _: None)
    _well_formed(rows, "streams")
    assert [r.case for r in rows] == [
        "devhost: chunk write -> read, p50",
        "devhost: chunk write -> read, p95",
        "devhost: agent step, streaming",
        "devhost: agent step, streams off",
        "devhost: cost per token (a chunk committed)",
    ]
    assert rows[2].extra["chunks"] > 0  # the agent's runs did stream
    assert rows[0].best <= rows[1].best
