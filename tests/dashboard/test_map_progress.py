"""A map's progress in the run view and its items in the timeline, on devhost with real runs: items held
by gate files part way through a map (done, running, failed, waiting for a slot), one approval per item
(waiting for a person), and the demo document review over 12 documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devhost.testing import DevHostHandle
from engine.durable.checkpoint import DEFAULT_CONTINUE_EVERY
from engine.functions.view_models import RunView
from tests.durable.http import Reply, finished, get, post, wait_for

JOBS = [f"j{i:02d}" for i in range(12)]
GATED = {"j06", "j07", "j10"}


def gated_jobs(gates: Path) -> dict[str, Any]:
    """12 jobs, 4 at a time: j01 fails; j06 and j07 hold the second wave, j10 the third."""
    jobs = [{"name": j, "gate": j in GATED, "fail": j == "j01"} for j in JOBS]
    return {"gates": str(gates), "jobs": jobs}


def progress(view: dict[str, Any]) -> dict[str, int]:
    entry = view["maps"][0]
    return {k: entry[k] for k in ("total", "done", "running", "failed", "waiting", "approvals")}


def until_progress(run: str, **expected: int) -> dict[str, Any]:
    def reached(reply: Reply) -> bool:
        return reply.status == 200 and all(progress(reply.body)[k] == v for k, v in expected.items())

    return wait_for(run, reached, timeout=60).body


def start(host: DevHostHandle, workflow: str, body: dict[str, Any], instance: str) -> str:
    reply = post(f"{host.api_url}/workflows/{workflow}?instanceId={instance}", body)
    assert reply.status == 202, reply.body
    return reply.body["runUri"]


def open_gate(gates: Path, job: str) -> None:
    (gates / job).write_text("open")


def test_a_map_held_by_gates_reports_each_wave(host: DevHostHandle, tmp_path: Path) -> None:
    run = start(host, "map_gates", gated_jobs(tmp_path), "gates-api")
    try:
        # Wave 1 (j00-j03, j01 failed) is over; j06 and j07 hold wave 2; j08-j11 wait for a slot.
        view = until_progress(run, done=5, running=2)
        RunView.model_validate(view)
        assert progress(view) == {
            "total": 12,
            "done": 5,
            "running": 2,
            "failed": 1,
            "waiting": 4,
            "approvals": 0,
        }
        entry = view["maps"][0]
        assert (entry["node"], entry["source"], entry["collect"]) == ("run_job", "queue_jobs", "tally_jobs")
        assert entry["max_parallel"] == 4 and entry["batches_begun"] == 1
        assert [b["batch"] for b in entry["batches"]] == ["0.0"] and not entry["batches"][0]["collected"]
        assert view["executors"]["run_job"] == "running"
        # j04 and j05 finished within the wave still in flight: their rows name their items too.
        timeline = get(f"{run}?timeline=true").body["timeline"]
        rows = [e for e in timeline["entries"] if e["kind"] == "step" and e["executor"] == "run_job"]
        assert sorted(r["item"] for r in rows) == [0, 1, 2, 3, 4, 5]

        open_gate(tmp_path, "j06")
        until_progress(run, done=6, running=1, waiting=4)
        open_gate(tmp_path, "j07")
        view = until_progress(run, done=10, running=1, waiting=0)  # wave 3: j10 holds it
        assert progress(view)["failed"] == 1
    finally:
        for job in GATED:
            open_gate(tmp_path, job)
    view = wait_for(f"{run}?timeline=true", finished).body
    RunView.model_validate(view)
    assert view["outputs"][0]["failed"] == [1]
    entry = view["maps"][0]
    assert progress(view) == {
        "total": 12,
        "done": 11,
        "running": 0,
        "failed": 1,
        "waiting": 0,
        "approvals": 0,
    }
    assert entry["batches"][0]["collected"]
    rows = [e for e in view["timeline"]["entries"] if e["kind"] == "step" and e["executor"] == "run_job"]
    assert sorted(r["item"] for r in rows) == list(range(12))
    assert all(r["item"] == r["ordinal"] and r["batch"] == "0.0" for r in rows)
    others = [e for e in view["timeline"]["entries"] if e["kind"] == "step" and e["executor"] != "run_job"]
    assert others and all(e["item"] is None for e in others)


def test_an_item_between_attempts_is_running_and_a_terminated_map_counts_what_never_finished(
    host: DevHostHandle, tmp_path: Path
) -> None:
    jobs = [{"name": "flaky", "flaky": True, "gate": True}, {"name": "held", "gate": True}, {"name": "quick"}]
    run = start(host, "map_gates", {"gates": str(tmp_path), "jobs": jobs}, "gates-retry")
    try:
        # flaky's first attempt failed: its retry follows once its wave is over, and held holds the wave.
        view = until_progress(run, done=1, running=2)
        assert progress(view) == {
            "total": 3,
            "done": 1,
            "running": 2,
            "failed": 0,
            "waiting": 0,
            "approvals": 0,
        }
        timeline = get(f"{run}?timeline=true").body["timeline"]
        failed = [e for e in timeline["entries"] if e["kind"] == "step" and not e["ok"]]
        assert [(e["item"], e["attempt"], e["retryable"]) for e in failed] == [(0, 1, True)]
        open_gate(tmp_path, "held")
        # flaky's second attempt waits for its own gate.
        until_progress(run, done=2, running=1)
        assert post(f"{run}/terminate", {"reason": "enough"}).status == 202
        view = wait_for(run, finished).body
        assert view["runtimeStatus"] == "Terminated"
        # The run stopped: flaky never finished, and nothing runs any more.
        assert progress(view) == {
            "total": 3,
            "done": 2,
            "running": 0,
            "failed": 0,
            "waiting": 1,
            "approvals": 0,
        }
    finally:
        open_gate(tmp_path, "held")
        open_gate(tmp_path, "flaky")


def test_a_map_begun_before_a_continue_as_new_is_followed_after_it(
    host: DevHostHandle, tmp_path: Path
) -> None:
    # An execution's worth of countdown less one: the batch is begun in the execution's last superstep, its
    # items run in the next execution.
    every = DEFAULT_CONTINUE_EVERY
    jobs = [{"name": "a", "gate": True}, {"name": "b"}, {"name": "c"}]
    run = start(host, "map_late", {"left": every - 1, "gates": str(tmp_path), "jobs": jobs}, "late-api")
    try:
        view = until_progress(run, done=1, running=1)
        assert progress(view) == {
            "total": 3,
            "done": 1,
            "running": 1,
            "failed": 0,
            "waiting": 1,
            "approvals": 0,
        }
        assert view["maps"][0]["batches_begun"] == 1
        timeline = get(f"{run}?timeline=true").body["timeline"]
        assert timeline["executions"] == 2
        rows = [e for e in timeline["entries"] if e["kind"] == "step" and e["executor"] == "run_late_job"]
        assert [(r["superstep"], r["item"], r["earlier"]) for r in rows] == [(every + 1, 1, False)]
    finally:
        open_gate(tmp_path, "a")
    view = wait_for(run, finished).body
    assert view["outputs"] == [{"done": ["A", "B", "C"], "failed": []}]
    assert progress(view) == {"total": 3, "done": 3, "running": 0, "failed": 0, "waiting": 0, "approvals": 0}
    assert [(b["batch"], b["collected"]) for b in view["maps"][0]["batches"]] == [("0.0", True)]


def test_an_approval_per_item_waits_for_a_person(host: DevHostHandle) -> None:
    run = start(host, "map_signoff", {"pages": ["intro", "body", "end"]}, "signoff-api")
    view = until_progress(run, approvals=3)
    assert progress(view) == {"total": 3, "done": 0, "running": 0, "failed": 0, "waiting": 3, "approvals": 3}
    assert view["executors"]["page_approval"] == "waiting"
    pending = {p["request"]: p for p in view["pendingApprovals"]}
    assert {p["item"]["index"] for p in pending.values()} == {0, 1, 2}
    assert pending["body"]["item"] == {"batch": "0.0", "index": 1}

    assert post(pending["body"]["respond_uri"], {"approved": True}).status == 202
    view = until_progress(run, done=1)
    assert progress(view) == {"total": 3, "done": 1, "running": 0, "failed": 0, "waiting": 2, "approvals": 2}
    RunView.model_validate(view)
    for page in ("intro", "end"):
        assert post(pending[page]["respond_uri"], {"approved": False}).status == 202
    view = wait_for(run, finished).body
    assert view["outputs"] == [{"approved": 1, "pages": 3}]
    # Approval items are not steps: once collected, their batch is counted, not listed item by item.
    assert view["maps"][0]["batches_begun"] == 1 and view["maps"][0]["waiting"] == 0

    schemas = get(f"{host.api_url}/openapi.json").body["components"]["schemas"]
    assert schemas["RunView"]["properties"]["maps"]["items"] == {"$ref": "#/components/schemas/MapProgress"}
    assert {"total", "done", "running", "failed", "waiting", "batches"} <= set(
        schemas["MapProgress"]["properties"]
    )


def test_document_review_of_12_documents_lists_every_review(host: DevHostHandle) -> None:
    documents = [{"title": f"Doc {i}", "text": f"The text of document {i}."} for i in range(12)]
    run = start(host, "document_review", {"batch_id": "b12", "documents": documents}, "review-12")
    view = wait_for(f"{run}?wait=30&timeline=true", lambda r: bool(r.body.get("pendingApprovals"))).body
    RunView.model_validate(view)
    entry = view["maps"][0]
    assert entry["node"] == "review_document" and entry["max_parallel"] == 8
    assert progress(view) == {
        "total": 12,
        "done": 12,
        "running": 0,
        "failed": 0,
        "waiting": 0,
        "approvals": 0,
    }
    rows = [
        e for e in view["timeline"]["entries"] if e["kind"] == "step" and e["executor"] == "review_document"
    ]
    assert {r["item"] for r in rows} == set(range(12))
    assert get(f"{run}").body["maps"][0]["batches"][0]["collected"] is True
    post(f"{run}/terminate")
