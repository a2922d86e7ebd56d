"""The project's app over HTTP, on devhost and on the Durable Task runner (``engine serve`` on durabletask's
in-memory backend): every graph shape, approvals, failures, limits. What only devhost can show (its test
clock, the Durable Functions management API) is checked there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from devhost.testing import DevHostHandle
from engine.durable.orchestrator import DEFAULT_CONTINUE_EVERY
from engine.durable.trail import MAX_STEPS
from tests.durable.hostings import HOSTINGS, hosted_api
from tests.durable.http import finished, get, post, wait_for, waiting


@pytest.fixture(scope="module", params=HOSTINGS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "devhost":  # the module's devhost (conftest ``host``): its clock and API
        yield f"{request.getfixturevalue('host').api_url}/workflows"
        return
    yield from hosted_api(request, tmp_path_factory, "tests.durable.graphs")


def on_devhost(request: pytest.FixtureRequest) -> bool:
    return bool(request.node.callspec.params["api"] == "devhost")


@pytest.fixture
def devhost_only(request: pytest.FixtureRequest) -> None:
    if not on_devhost(request):
        pytest.skip("needs devhost's test clock or the Durable Functions management API (sendEventPostUri)")


def start(api: str, workflow: str, body: object, **query: str) -> str:
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    reply = post(f"{api}/{workflow}{suffix}", body)
    assert reply.status == 202, reply.body
    assert reply.headers["Location"] == reply.body["runUri"]
    return reply.body["runUri"]


def run_to_end(api: str, workflow: str, body: object) -> dict:
    return wait_for(start(api, workflow, body), finished).body


def test_chain(api: str) -> None:
    view = run_to_end(api, "t_chain", {"value": 4})
    assert view["runtimeStatus"] == "Completed"
    assert view["outputs"] == ["result=10"]
    assert view["executors"] == {"add_one": "done", "double": "done", "to_text": "done"}


def test_fan_out_fan_in_of_50(api: str) -> None:
    view = run_to_end(api, "t_fan50", {"value": 3})
    assert view["outputs"] == [{"count": 50, "sum": 50 * 9 + sum(range(50)), "first": 9, "last": 58}]


def test_switch_takes_the_first_matching_case(api: str) -> None:
    assert run_to_end(api, "t_switch", {"value": 5})["outputs"] == ["small"]
    assert run_to_end(api, "t_switch", {"value": 50})["outputs"] == ["medium"]
    assert run_to_end(api, "t_switch", {"value": 500})["outputs"] == ["large"]


def test_bounded_loop(api: str) -> None:
    view = run_to_end(api, "t_loop", {"value": 7})
    assert view["outputs"] == [{"left": 0, "rounds": 7}]


def test_approval_answered_through_our_endpoint(api: str) -> None:
    run = start(api, "t_approval", {"item": "laptop", "amount": 1200})
    view = wait_for(run, waiting).body
    pending = view["pendingApprovals"][0]
    assert pending["approval_id"] == "ask"
    assert pending["request"] == {"item": "laptop", "amount": 1200.0}
    assert pending["response_schema"]["properties"]["approved"]["type"] == "boolean"
    assert view["executors"]["ask"] == "waiting"
    reply = post(pending["respond_uri"], {"approved": True, "comment": "fine"})
    assert reply.status == 202, reply.body
    done = wait_for(run, finished).body
    assert done["outputs"][0] | {"decided_by": None} == {
        "item": "laptop",
        "approved": True,
        "comment": "fine",
        "via": "endpoint",
        "timed_out": False,
        "decided_by": None,
    }
    again = post(pending["respond_uri"], {"approved": False})
    assert again.status == 410


@pytest.mark.usefixtures("devhost_only")
def test_approval_answered_through_send_event_post_uri(api: str) -> None:
    started = post(f"{api}/t_approval", {"item": "desk", "amount": 300})
    run = started.body["runUri"]
    pending = wait_for(run, waiting).body["pendingApprovals"][0]
    event_uri = started.body["sendEventPostUri"].replace("{eventName}", pending["event_name"])
    reply = post(event_uri, {"approved": False, "comment": "too expensive"})
    assert reply.status == 202
    done = wait_for(run, finished).body
    assert done["outputs"][0]["approved"] is False
    assert done["outputs"][0]["via"] == "event"


@pytest.mark.usefixtures("devhost_only")
def test_invalid_raw_event_is_ignored_and_the_run_keeps_waiting(api: str) -> None:
    started = post(f"{api}/t_approval", {"item": "chair", "amount": 80})
    run = started.body["runUri"]
    pending = wait_for(run, waiting).body["pendingApprovals"][0]
    event_uri = started.body["sendEventPostUri"].replace("{eventName}", pending["event_name"])
    assert post(event_uri, {"approved": "perhaps"}).status == 202
    assert post(pending["respond_uri"], {"approved": True}).status == 202
    assert wait_for(run, finished).body["outputs"][0]["approved"] is True


@pytest.mark.usefixtures("devhost_only")
def test_approval_deadline_passes_on_the_test_clock(api: str, host: DevHostHandle) -> None:
    run = start(api, "t_approval", {"item": "phone", "amount": 500})
    wait_for(run, waiting)
    host.clock.advance(timedelta(hours=73))
    done = wait_for(run, finished).body
    assert done["outputs"][0]["approved"] is False
    assert done["outputs"][0]["timed_out"] is True
    assert done["outputs"][0]["comment"] == "no answer in time"


def steps_of(view: dict) -> list[tuple[int, bool, bool | None]]:
    return [
        (e["attempt"], e["ok"], e["will_retry"]) for e in view["timeline"]["entries"] if e["kind"] == "step"
    ]


def test_executor_retried_then_succeeds(api: str) -> None:
    run = start(api, "t_retried", {"key": "r1"})
    view = wait_for(f"{run}?timeline=true", finished).body
    assert view["outputs"] == ["ok after 2"]
    # The failed first attempt is not the step's failure: another followed.
    assert steps_of(view) == [(1, False, True), (2, True, None)]
    totals = view["timeline"]["totals"]
    assert (totals["failed_attempts"], totals["failed_for_good"], totals["retries"]) == (1, 0, 1)


def test_executor_that_fails_after_retries_fails_the_run(api: str) -> None:
    view = wait_for(f"{start(api, 't_failing', {'key': 'f1'})}?timeline=true", finished).body
    assert steps_of(view) == [(1, False, True), (2, False, True), (3, False, False)]
    assert view["timeline"]["totals"]["failed_for_good"] == 1
    assert view["runtimeStatus"] == "Failed"
    assert view["error"]["executor_id"] == "always_fails"
    assert "boom on attempt 3" in view["error"]["message"]
    assert view["executors"]["always_fails"] == "failed"


def test_terminate_mid_way(api: str) -> None:
    run = start(api, "t_slow", {"seconds": 2})
    wait_for(run, lambda r: r.status == 200 and r.body["running"])
    reply = post(f"{run}/terminate", {"reason": "changed my mind"})
    assert reply.status == 202
    view = wait_for(run, finished).body
    assert view["runtimeStatus"] == "Terminated"
    assert post(f"{run}/terminate").status == 410


def test_500_iteration_loop_continues_as_new_with_bounded_history(
    api: str, request: pytest.FixtureRequest
) -> None:
    run = start(api, "t_loop", {"value": 500})
    view = wait_for(run, finished, timeout=180).body
    assert view["outputs"] == [{"left": 0, "rounds": 500}]
    if on_devhost(request):
        host = request.getfixturevalue("host")
        instance = view["instanceId"]
        url = f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance}?showHistory=true"
        status = get(url).body
        # One execution holds at most continue_every supersteps: a few events each, never the whole loop.
        assert len(status["historyEvents"]) < DEFAULT_CONTINUE_EVERY * 6
    # The timeline spans every execution: earlier ones from the compact trail the checkpoint carries
    # (capped: the oldest step attempts are only counted), the current one from its history.
    timeline = get(f"{run}?timeline=true").body["timeline"]
    entries = timeline["entries"]
    assert entries[0]["event"] == "started" and entries[0]["earlier"]
    continued = [e for e in entries if e["kind"] == "run" and e["event"] == "continued"]
    assert [e["after_superstep"] % DEFAULT_CONTINUE_EVERY for e in continued] == [0] * len(continued)
    assert continued[-1]["after_superstep"] >= 500 - DEFAULT_CONTINUE_EVERY and not continued[-1]["earlier"]
    assert timeline["executions"] == len(continued) + 1 > 20
    steps = [e for e in entries if e["kind"] == "step"]
    earlier = [e for e in steps if e["earlier"]]
    assert len(earlier) == MAX_STEPS and timeline["totals"]["earlier_steps_dropped"] > 0
    assert all(e["input"] is None and e["output"] is None for e in earlier)
    assert all(e["input"] is not None for e in steps if not e["earlier"])
    assert earlier[-1]["superstep"] <= continued[-1]["after_superstep"] < steps[-1]["superstep"]
    assert entries[-1]["event"] == "completed" and entries[-1]["elapsed_ms"] > 0


@pytest.mark.usefixtures("devhost_only")
def test_500_wide_fan_out_keeps_custom_status_small(api: str, host: DevHostHandle) -> None:
    run = start(api, "t_fan500", {"value": 1})
    seen_sizes: list[int] = []

    def check(reply):
        instance = reply.body.get("instanceId") if isinstance(reply.body, dict) else None
        if instance:
            raw = get(f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance}").body
            seen_sizes.append(len(json.dumps(raw.get("customStatus"))))
        return finished(reply)

    view = wait_for(run, check, timeout=180).body
    assert view["outputs"][0]["count"] == 500
    assert max(seen_sizes) < 16_000


def test_list_workflows_and_openapi(api: str) -> None:
    listed = get(api).body["workflows"]
    names = [w["name"] for w in listed]
    assert "expense_claim" in names and "t_chain" in names
    claim = next(w for w in listed if w["name"] == "expense_claim")
    assert claim["input_schema"]["properties"]["amount"]["exclusiveMinimum"] == 0
    assert claim["mermaid"].startswith("flowchart TD")
    doc = get(f"{api.rsplit('/workflows', 1)[0]}/openapi.json").body
    assert doc["openapi"] == "3.1.0"
    assert "/workflows/expense_claim" in doc["paths"]
    assert "ExpenseClaim" in doc["components"]["schemas"]


def test_list_runs_filters_by_status(api: str) -> None:
    run_to_end(api, "t_chain", {"value": 1})
    runs = get(f"{api}/t_chain/runs?status=completed&top=2").body
    assert runs["top"] == 2 and len(runs["runs"]) <= 2
    assert all(r["runtimeStatus"] == "Completed" and r["workflow"] == "t_chain" for r in runs["runs"])
    assert get(f"{api}/t_chain/runs?status=bogus").body["field"] == "status"


def test_a_fast_run_s_duration_is_true_to_the_millisecond(api: str) -> None:
    # Four 0.3 s naps side by side: a run of about a third of a second. The status API's created and updated
    # times are whole seconds (as the extension prints them), which made this 0 ms or 1000 ms.
    run = start(api, "t_slow", {"seconds": 0.3, "width": 4}, instanceId="fast-duration")
    view = wait_for(f"{run}?timeline=true", finished).body
    listed = get(f"{api.rsplit('/workflows', 1)[0]}/runs?search=fast-duration").body["runs"][0]
    end = view["timeline"]["entries"][-1]
    assert end["kind"] == "run" and end["event"] == "completed"
    for duration in (view["durationMs"], listed["durationMs"]):
        assert 300 <= duration < 5000 and duration % 1000 != 0, duration
    # The view's is the history's start to end; the list's, the orchestrator's clock at its last episode.
    assert view["durationMs"] == end["elapsed_ms"]
    assert abs(listed["durationMs"] - view["durationMs"]) < 100
