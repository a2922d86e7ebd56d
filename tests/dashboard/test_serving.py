"""The dashboard's HTTP function and the JSON it reads: static serving, graph description, timeline."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import azure.functions as func
import pytest

from devhost.testing import DevHostHandle
from engine.core.viz import to_graph_json
from engine.durable.history import HistoryEvent
from engine.functions.dashboard import WEB_ROOT, safe_asset_path, serve
from engine.functions.timeline import run_timeline
from engine.functions.view_models import RunsPage, RunView
from tests.durable.http import finished, get, post, wait_for, waiting
from workflows import ALL


def request(path: str, *, url: str | None = None, headers: dict[str, str] | None = None) -> func.HttpResponse:
    req = func.HttpRequest(
        "GET",
        url or f"http://localhost/api/dashboard/{path}",
        headers=headers or {},
        route_params={"path": path},
        body=b"",
    )
    return serve(req)


@pytest.mark.parametrize(
    ("path", "kind"),
    [("style.css", "text/css"), ("js/app.js", "text/javascript"), ("favicon.svg", "image/svg+xml")],
)
def test_assets_have_their_content_type_and_revalidate(path: str, kind: str) -> None:
    reply = request(path)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith(kind)
    assert reply.headers["Cache-Control"] == "no-cache"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    again = request(path, headers={"If-None-Match": reply.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_body() == b""


@pytest.mark.parametrize(
    "path",
    [
        "../function_app.py",
        "js/../../host.json",
        "..%2fhost.json",
        "/etc/passwd",
        ".hidden.js",
        "js\\app.js",
        "js//app.js",
        "nope.js",
        "README.md",
        "a\x00.js",
    ],
)
def test_path_traversal_and_unknown_files_are_404(path: str) -> None:
    assert safe_asset_path(WEB_ROOT, path) is None
    assert request(path).status_code == 404


def test_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "web"
    root.mkdir()
    (tmp_path / "secret.js").write_text("secret")
    (root / "link.js").symlink_to(tmp_path / "secret.js")
    (root / "ok.js").write_text("ok")
    assert safe_asset_path(root, "link.js") is None
    assert safe_asset_path(root, "ok.js") == (root / "ok.js").resolve()


def test_page_redirects_to_the_slash_and_keeps_the_query() -> None:
    reply = request("", url="http://localhost/api/dashboard?code=abc")
    assert reply.status_code == 308
    assert reply.headers["Location"] == "/api/dashboard/?code=abc"
    page = request("", url="http://localhost/api/dashboard/?code=abc")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert b'<meta name="workflows-route" content="workflows">' in page.get_body()
    assert b"<!--config-->" not in page.get_body()


def test_no_asset_comes_from_elsewhere() -> None:
    for file in WEB_ROOT.rglob("*"):
        if file.is_file():
            text = file.read_text()
            assert "http://" not in text.replace("http://www.w3.org/2000/svg", ""), file
            assert "https://" not in text, file


def test_graph_json_describes_every_edge_kind() -> None:
    graph = to_graph_json(next(w for w in ALL if w.name == "order_cancellation"))
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes["lookup_order"] | {} == nodes["lookup_order"] and nodes["lookup_order"]["start"]
    assert nodes["manager_approval"]["kind"] == "approval"
    assert nodes["draft_refusal"]["kind"] == "agent"
    kinds = {e["kind"] for e in graph["edges"]}
    assert kinds == {"plain", "conditional", "fan-out", "fan-in", "switch", "escalation"}
    for edge in graph["edges"]:  # layered: every forward edge goes down
        if not edge["back"]:
            assert nodes[edge["target"]]["layer"] > nodes[edge["source"]]["layer"], edge
    cells = {(n["layer"], n["order"]) for n in graph["nodes"]}
    assert len(cells) == len(graph["nodes"])  # no two nodes in the same place


def test_graph_json_marks_loops_as_back_edges() -> None:
    graph = to_graph_json(next(w for w in ALL if w.name == "content_review"))
    back = [(e["source"], e["target"]) for e in graph["edges"] if e["back"]]
    assert back == [("next_round", "start_round")]


def test_timeline_from_history_events() -> None:
    result = {
        "ok": True,
        "step": {"executor": "draft", "superstep": 2, "attempt": 2},
        "output": {"x": 1},
        "duration_ms": 12.5,
        "annotations": {
            "agent": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "calls": 1}
        },
    }
    events = [
        {"EventType": "ExecutionStarted", "Timestamp": "2026-01-01T00:00:00Z"},
        {
            "EventType": "TaskCompleted",
            "FunctionName": "run_step",
            "ScheduledTime": "2026-01-01T00:00:01Z",
            "Timestamp": "2026-01-01T00:00:01.500Z",
            "Result": result,
        },
        {
            "EventType": "EventRaised",
            "Name": "approval-a-s3-0",
            "Timestamp": "2026-01-01T00:00:02Z",
            "Input": "{}",
        },
        {
            "EventType": "ExecutionCompleted",
            "OrchestrationStatus": "Completed",
            "Timestamp": "2026-01-01T00:00:03Z",
        },
    ]
    timeline = run_timeline([HistoryEvent.model_validate(e) for e in events], "run_step").model_dump(
        mode="json"
    )
    step = timeline["entries"][1]
    assert step["executor"] == "draft" and step["superstep"] == 2 and step["attempt"] == 2
    assert step["elapsed_ms"] == 500.0 and step["duration_ms"] == 12.5
    assert step["agent"]["total_tokens"] == 15
    assert timeline["totals"]["tokens"]["total_tokens"] == 15
    assert timeline["totals"]["retries"] == 1
    assert [e["kind"] for e in timeline["entries"]] == ["run", "step", "approval", "run"]
    approval = timeline["entries"][2]
    assert approval["request_id"] == "a-s3-0" and approval["outcome"] == "not_taken"
    assert timeline["entries"][-1]["elapsed_ms"] == 3000.0


def test_timeline_of_an_execution_continued_as_new_says_where_it_took_over() -> None:
    checkpoint = {"checkpoint": {"workflow": "w", "instance_id": "i", "superstep": 40}, "executed": ["a"]}
    events = [
        {"EventType": "ExecutionStarted", "Timestamp": "2026-01-01T00:00:00Z", "Input": checkpoint},
        {"EventType": "ExecutionStarted", "Timestamp": "2026-01-01T00:00:00Z", "Input": '{"input": 1}'},
        {"EventType": "ExecutionStarted", "Timestamp": "2026-01-01T00:00:00Z"},
    ]
    timeline = run_timeline([HistoryEvent.model_validate(e) for e in events], "run_step")
    entries = timeline.model_dump(mode="json", exclude_none=True)["entries"]
    assert entries[0] == {
        "kind": "run",
        "event": "continued",
        "at": "2026-01-01T00:00:00Z",
        "after_superstep": 40,
        "earlier": False,
    }
    assert [e["event"] for e in entries[1:]] == ["started", "started"]


def test_dashboard_is_served_by_the_app_on_devhost(host: DevHostHandle) -> None:
    with urllib.request.urlopen(f"{host.api_url}/dashboard") as reply:  # follows the redirect
        assert reply.url.endswith("/api/dashboard/")
        assert reply.headers["Content-Type"].startswith("text/html")
    assert get(f"{host.api_url}/dashboard/js/graph.js").headers["Content-Type"].startswith("text/javascript")
    assert get(f"{host.api_url}/dashboard/../host.json").status == 404
    listing = get(f"{host.api_url}/workflows").body
    assert all("graph" in wf for wf in listing["workflows"])
    runs = get(f"{host.api_url}/runs?top=5")
    assert runs.status == 200 and set(runs.body) == {"runs", "total", "skip", "top"}
    assert get(f"{host.api_url}/runs?status=bogus").status == 400
    assert get(f"{host.api_url}/runs?workflow=bogus").status == 404


def test_run_views_and_runs_pages_are_what_openapi_says(host: DevHostHandle) -> None:
    """Real answers (waiting, completed, failed; with the timeline) validate against the documented models,
    which forbid fields they do not name."""
    api = f"{host.api_url}/workflows"
    waiting_run = post(f"{api}/document_batch", {"documents": ["a"]}).body["runUri"]
    failed_run = post(f"{api}/document_batch", {"documents": ["a", "b"], "broken": "b"}).body["runUri"]
    done_run = post(f"{api}/order_cancellation", {"order_id": "ORD-100250", "reason": "Too late"}).body[
        "runUri"
    ]
    views = [
        wait_for(f"{waiting_run}?timeline=true", waiting).body,
        wait_for(f"{failed_run}?timeline=true", finished).body,
        wait_for(f"{done_run}?timeline=true", finished).body,
        get(done_run).body,
    ]
    for view in views:
        RunView.model_validate(view)
    assert views[0]["pendingApprovalsTotal"] == 1 and views[0]["durationMs"] is None
    assert views[1]["error"]["type"] == "ValueError" and views[2]["durationMs"] >= 0
    assert "timeline" not in views[3]
    page = RunsPage.model_validate(get(f"{host.api_url}/runs?top=10").body)
    assert page.total >= 3 and all(r.runUri.startswith("http") for r in page.runs)
    RunsPage.model_validate(get(f"{api}/order_cancellation/runs?search=x").body)
