"""Partitioned maps on devhost: above its partition size a map runs in sub-orchestrations, no history
passes 3,000 events, items keep their idempotency keys, and failures are handled across partitions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from devhost.testing import DevHostHandle
from engine import InMemoryRunner
from engine.functions import partition_reads
from tests.durable import maps
from tests.durable.conftest import host_with, instances
from tests.durable.http import finished, get, post, wait_for


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    yield from host_with(tmp_path_factory, "tests.durable.maps")


def histories(host: DevHostHandle, prefix: str) -> dict[str, int]:
    """Every instance of this run (the run, its partitions) and the size of its history."""
    return {i: len(status["historyEvents"]) for i, status in instances(host, prefix).items()}


def test_items_in_partitions_keep_their_keys_and_failures(host: DevHostHandle) -> None:
    api = f"{host.api_url}/workflows"
    docs = [f"bad-{i}" if i % 97 == 0 else f"doc-{i}" for i in range(400)]
    run = post(f"{api}/t_map_partitioned?instanceId=part-1", {"name": "p", "docs": docs}).body["runUri"]
    view = wait_for(f"{run}?wait=30", finished, timeout=180).body
    assert view["runtimeStatus"] == "Completed", view
    expected = asyncio.run(
        InMemoryRunner([maps.partitioned]).run(
            maps.partitioned, {"name": "p", "docs": docs}, instance_id="part-1"
        )
    )
    # The same idempotency key per item as in memory (and as without partitions), failures in place.
    assert view["outputs"] == expected.outputs_json()
    assert [k for k in view["outputs"][0] if k.startswith("failed#")] == [
        "failed#0",
        "failed#97",
        "failed#194",
        "failed#291",
        "failed#388",
    ]
    sizes = histories(host, "part-1")
    partitions = [i for i in sizes if ":p" in i]
    assert len(partitions) == 8, sizes
    # Once its partitions are done, the run counts their items: in its map progress and its event feed.
    (progress,) = get(run).body["maps"]
    assert (progress["done"], progress["failed"]) == (395, 5), progress
    events, cursor = [], None
    while True:
        page = get(f"{run}/events" + (f"?after={cursor}" if cursor else "")).body
        if not page["events"]:
            break
        events += page["events"]
        cursor = page["cursor"]
    assert sum(e["kind"] == "map_item_done" for e in events) == 395
    assert sorted(e["item"] for e in events if e["kind"] == "step_failed") == [0, 97, 194, 291, 388]
    # The run's timeline lists every item's attempt, read from its partition's history, in time order.
    timeline = get(f"{run}?timeline=true").body["timeline"]
    rows = [e for e in timeline["entries"] if e["kind"] == "step" and e["executor"] == "review"]
    assert sorted(r["item"] for r in rows) == list(range(400))
    assert {r["partition"] for r in rows} == {f"part-1:review:2:p{n}" for n in range(8)}
    assert sum(not r["ok"] for r in rows) == 5 and all(r["input"] and r["idempotency_key"] for r in rows)
    times = [e.get("completed") or e.get("at") for e in timeline["entries"]]
    assert times == sorted(times), "the timeline is in time order"
    assert timeline["totals"]["steps"] >= 402  # the split and the summary too


def test_a_timeline_lists_the_first_partitions_steps_and_counts_the_rest(
    host: DevHostHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partition_reads, "MAX_PARTITION_ROWS", 100)  # the host runs in this process
    api = f"{host.api_url}/workflows"
    docs = [f"doc-{i}" for i in range(400)]
    run = post(f"{api}/t_map_partitioned?instanceId=part-cap", {"name": "c", "docs": docs}).body["runUri"]
    wait_for(f"{run}?wait=30", finished, timeout=180)
    timeline = get(f"{run}?timeline=true").body["timeline"]
    rows = [e for e in timeline["entries"] if e["kind"] == "step" and e["executor"] == "review"]
    assert len(rows) == 100 and {r["partition"] for r in rows} == {
        "part-cap:review:2:p0",
        "part-cap:review:2:p1",
    }
    assert timeline["totals"]["partitions_not_listed"] == 6


def test_no_history_passes_3000_events_with_the_default_partition_size(host: DevHostHandle) -> None:
    api = f"{host.api_url}/workflows"
    docs = [f"d{i}" for i in range(3000)]
    run = post(f"{api}/t_map_large?instanceId=large-1", {"name": "l", "docs": docs}).body["runUri"]
    view = wait_for(f"{run}?wait=30", finished, timeout=300).body
    assert view["runtimeStatus"] == "Completed" and view["outputs"] == [",".join(f"{d}:1" for d in docs)]
    sizes = histories(host, "large-1")
    assert len(sizes) > 1 and max(sizes.values()) <= 3000, sizes


def test_an_item_failing_for_good_in_a_partition_fails_the_run_naming_it(host: DevHostHandle) -> None:
    api = f"{host.api_url}/workflows"
    docs = [f"doc-{i}" for i in range(30)]
    docs[17] = "bad-17"
    run = post(f"{api}/t_map_partitioned_fail", {"name": "f", "docs": docs}).body["runUri"]
    view = wait_for(f"{run}?wait=30", finished, timeout=120).body
    assert view["runtimeStatus"] == "Failed", view
    assert view["error"]["executor_id"] == "review" and "cannot review 'bad-17'" in view["error"]["message"]
