"""The run's state comes from its history: every open approval listed and answerable, finished runs
closed, decisions validated strictly, the input shown. Each test here failed before the fold existed."""

from __future__ import annotations

import json
import urllib.request

from devhost.testing import DevHostHandle
from engine.core.versions import WorkflowVersions
from engine.durable.fold import fold
from engine.durable.history import HistoryEvent, typed_events
from engine.durable.status import RunStatus
from tests.durable import graphs
from tests.durable.http import finished, get, post, wait_for, waiting
from tests.durable.test_e2e import start

REQUEST = {"item": "laptop", "amount": 1200}


def all_pending(run: str, top: int = 1000) -> list[dict]:
    found: list[dict] = []
    while True:
        page = get(f"{run}?approvals_skip={len(found)}&approvals_top={top}").body
        found += page["pendingApprovals"]
        if len(found) >= page["pendingApprovalsTotal"] or not page["pendingApprovals"]:
            return found


def custom_status_bytes(host: DevHostHandle, instance_id: str) -> int:
    with urllib.request.urlopen(f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance_id}") as r:
        return len(json.dumps(json.loads(r.read())["customStatus"]))


def test_fifty_open_approvals_are_all_listed_and_answerable_to_the_end(api: str) -> None:
    run = start(api, "t_approvals_50", REQUEST)
    view = get(f"{run}?wait=30").body
    assert view["phase"] == "waiting_for_approval"
    assert view["pendingApprovalsTotal"] == 50
    pending = all_pending(run, top=20)
    assert sorted(p["approval_id"] for p in pending) == sorted(f"ask_{i}" for i in range(50))
    for entry in pending:
        assert post(entry["respond_uri"], {"approved": True}).status == 202, entry["request_id"]
    done = wait_for(run, finished, timeout=120).body
    assert done["runtimeStatus"] == "Completed"
    assert len(done["outputs"]) == 50
    assert done["closedApprovalsTotal"] == 50
    assert set(done["executors"].values()) == {"done"}


def test_a_thousand_open_approvals_page_and_answer_and_the_status_stays_small(
    api: str, host: DevHostHandle
) -> None:
    run = start(api, "t_approvals_1000", REQUEST)
    view = get(f"{run}?wait=60&approvals_top=1000").body
    assert view["pendingApprovalsTotal"] == 1000
    assert len({p["request_id"] for p in view["pendingApprovals"]}) == 1000
    assert len(all_pending(run, top=300)) == 1000
    instance = view["instanceId"]
    assert custom_status_bytes(host, instance) < 16 * 1024
    status = RunStatus.read(
        json.loads(
            urllib.request.urlopen(
                f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance}"
            ).read()
        )["customStatus"]
    )
    assert status is not None and status.approvals_count == 1000
    # The last one (far past any display limit) is answerable, through the list and by its own route.
    last = get(f"{run}/approvals/ask_999-s2-0")
    assert last.status == 200 and last.body["approval_id"] == "ask_999"
    assert post(last.body["respond_uri"], {"approved": False}).status == 202
    view = wait_for(run, lambda r: r.body["pendingApprovalsTotal"] == 999, timeout=60).body
    assert view["closedApprovals"][-1]["request_id"] == "ask_999-s2-0"
    assert view["executors"]["ask_999"] == "done"
    assert get(f"{run}/approvals/ask_999-s2-0").status == 409
    assert post(last.body["respond_uri"].split("?")[0], {"approved": True}).status in (403, 409)
    assert post(f"{run}/terminate").status == 202
    wait_for(run, finished)


def test_a_terminated_run_shows_no_open_approval(api: str) -> None:
    run = start(api, "t_approval", REQUEST)
    wait_for(run, waiting)
    assert post(f"{run}/terminate", {"reason": "stop"}).status == 202
    view = wait_for(run, finished).body
    assert view["runtimeStatus"] == "Terminated"
    assert view["phase"] == "terminated"
    assert view["pendingApprovals"] == [] and view["pendingApprovalsTotal"] == 0
    assert "waiting" not in view["executors"].values()
    summary = get(f"{api}/t_approval/runs?top=200").body["runs"]
    assert next(r for r in summary if r["instanceId"] == view["instanceId"])["phase"] == "terminated"


def test_the_run_view_shows_the_input(api: str) -> None:
    run = start(api, "t_approval", REQUEST)
    assert get(f"{run}?wait=30").body["input"] == {"item": "laptop", "amount": 1200}
    post(f"{run}/terminate")


def test_loose_answers_are_400s_naming_the_field(api: str) -> None:
    run = start(api, "t_approval", REQUEST)
    pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
    yes = post(pending["respond_uri"], {"approved": "yes"})
    assert yes.status == 400 and [e["field"] for e in yes.body["errors"]] == ["approved"]
    one = post(pending["respond_uri"], {"approved": 1, "extra": "field"})
    assert one.status == 400
    assert {e["field"] for e in one.body["errors"]} == {"approved", "extra"}
    assert get(run).body["phase"] == "waiting_for_approval"
    assert post(pending["respond_uri"], {"approved": True}).status == 202
    assert wait_for(run, finished).body["outputs"][0]["approved"] is True


def test_strict_answers_still_read_datetimes_and_enums_from_their_json_strings(api: str) -> None:
    run = start(api, "t_schedule", REQUEST)
    pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
    bad = post(
        pending["respond_uri"], {"when": "2030-01-01T10:00:00Z", "priority": "urgent", "approved": True}
    )
    assert bad.status == 400 and bad.body["errors"][0]["field"] == "priority"
    good = {"when": "2030-01-01T10:00:00Z", "priority": "high", "approved": True}
    assert post(pending["respond_uri"], good).status == 202
    assert wait_for(run, finished).body["outputs"] == [
        {"when": "2030-01-01T10:00:00+00:00", "priority": "high"}
    ]


def test_a_loose_raw_event_is_dropped_and_the_run_keeps_waiting(api: str) -> None:
    started = post(f"{api}/t_approval", REQUEST)
    run = started.body["runUri"]
    pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
    event_uri = started.body["sendEventPostUri"].replace("{eventName}", pending["event_name"])
    assert post(event_uri, {"approved": "yes"}).status == 202
    assert post(event_uri, {"approved": True, "extra": 1}).status == 202
    view = get(f"{run}?wait=5").body
    assert view["runtimeStatus"] == "Running" and view["pendingApprovalsTotal"] == 1
    assert post(event_uri, {"approved": True}).status == 202
    assert wait_for(run, finished).body["outputs"][0]["via"] == "event"


def test_a_run_started_by_older_code_replays_its_lax_unsigned_answers_as_before(
    api: str, host: DevHostHandle
) -> None:
    """A run whose first episode ran on code from before strict or signed answers: its input lacks the
    flags and its history is already there when this code first replays it. Its recorded answers read as
    they were accepted: a lax one ("yes" for a bool) and an unsigned envelope's name both stand."""
    run = start(api, "t_approval", REQUEST)
    pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
    instance = run.rsplit("/", 1)[1]
    url = f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance}"
    events = typed_events(
        get(f"{url}?showHistory=true&showHistoryOutput=true&showInput=true").body["historyEvents"]
    )
    older = {"input": REQUEST, "checkpoint": None, "executed": [], "closed": []}  # as old code wrote it
    history = [
        e.model_copy(update={"input": json.dumps(older)}) if e.type == "ExecutionStarted" else e
        for e in events
    ]
    answer = {"$approval": {"response": {"approved": "yes"}, "decided_by": "ceo", "via": "endpoint"}}
    raised = HistoryEvent(
        type="EventRaised",
        timestamp=history[-1].timestamp,
        name=pending["event_name"],
        input=json.dumps(answer),
    )
    folded = fold(
        WorkflowVersions.of(graphs.ALL), instance, [*history, raised], continue_every=20, name="t_approval"
    )
    assert folded.error is None and folded.open_approvals == ()
    closed = folded.closed_approvals[0]  # and the run goes on to its next step
    assert closed.decided_by == "ceo" and closed.answer == {"approved": True, "comment": ""}
    post(f"{run}/terminate")


def test_wait_must_be_a_bounded_whole_number(api: str) -> None:
    run = start(api, "t_chain", {"value": 1})
    for bad in ("x", "-1", "61"):
        reply = get(f"{run}?wait={bad}")
        assert reply.status == 400 and reply.body["field"] == "wait"
    assert get(f"{run}?wait=30").body["runtimeStatus"] == "Completed"


def test_every_error_of_the_workflow_routes_is_json(api: str, host: DevHostHandle) -> None:
    run = start(api, "t_approval", REQUEST)
    get(f"{run}?wait=30")
    for url in (f"{run}/approvals/%0A", f"{run}/approvals/nope", f"{host.api_url}/dashboard/nope.css"):
        reply = get(url)
        assert reply.status == 404, url
        assert reply.headers["Content-Type"].startswith("application/json"), url
        assert isinstance(reply.body, dict) and reply.body["error"], url
    post(f"{run}/terminate")


def test_wait_after_an_answer_holds_until_the_run_has_taken_it_in(api: str, host: DevHostHandle) -> None:
    import time

    run = start(api, "t_two_approvals", REQUEST)
    first = get(f"{run}?wait=30").body["pendingApprovals"][0]
    instance = first["respond_uri"].split("/runs/")[1].split("/")[0]
    management = f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance}"
    assert post(f"{management}/suspend?reason=hold").status == 202
    answered = post(first["respond_uri"], {"approved": True})
    assert answered.status == 202
    wait_uri = answered.body["waitUri"]
    assert wait_uri.endswith(f"?wait=30&answered={first['request_id']}")
    # The run has not taken the answer in (it is suspended): a plain wait returns the stale view at
    # once, a wait for the answer holds until its time is up.
    assert get(f"{run}?wait=5").body["pendingApprovals"][0]["request_id"] == first["request_id"]
    began = time.monotonic()
    held = get(f"{run}?wait=2&answered={first['request_id']}").body
    assert time.monotonic() - began >= 1.9
    assert held["pendingApprovals"][0]["request_id"] == first["request_id"]
    assert post(f"{management}/resume?reason=go").status == 202
    after = get(wait_uri).body
    assert [p["approval_id"] for p in after["pendingApprovals"]] == ["ask_second"]
    assert after["closedApprovals"][-1]["request_id"] == first["request_id"]
    stopped = post(f"{run}/terminate")
    assert stopped.body["waitUri"].endswith("?wait=30&until=finished")
    assert get(stopped.body["waitUri"]).body["runtimeStatus"] == "Terminated"


def test_until_takes_settled_or_finished(api: str) -> None:
    run = start(api, "t_chain", {"value": 2})
    bad = get(f"{run}?wait=1&until=done")
    assert bad.status == 400 and bad.body["field"] == "until"
    assert get(f"{run}?wait=30&until=finished").body["outputs"] == ["result=6"]


def test_timeline_takes_a_boolean(api: str) -> None:
    run = start(api, "t_chain", {"value": 1})
    assert get(f"{run}?wait=30&timeline=true").body["timeline"]["totals"]["steps"] == 3
    assert "timeline" not in get(f"{run}?timeline=false").body
    bad = get(f"{run}?timeline=maybe")
    assert bad.status == 400 and bad.body["field"] == "timeline"


def test_runs_lists_follow_continuation_tokens_past_the_first_page(api: str, host: DevHostHandle) -> None:
    import asyncio

    import azure.durable_functions as df

    from engine.durable.client import all_instances
    from engine.functions.azure_client import AzureDurableClient

    for _ in range(130):
        post(f"{api}/t_chain", {"value": 1})
    client = df.DurableOrchestrationClient(host.host.client_binding())
    everything = asyncio.run(all_instances(AzureDurableClient(client, page_size=50)))
    ids = [s.instance_id for s in everything]
    assert len(ids) == len(set(ids)) and len(ids) >= 130
    listed = get(f"{api}/t_chain/runs?top=1000").body
    assert listed["total"] >= 130 and listed["total"] == sum(1 for s in everything if s.name == "t_chain")
    # The host really pages: a first page alone holds at most 50 and names the next one.
    base = client._orchestration_bindings.rpc_base_url
    first = urllib.request.urlopen(f"{base}instances/?top=50")
    assert len(json.loads(first.read())) == 50 and first.headers["x-ms-continuation-token"]


def test_a_run_shows_the_version_and_fingerprint_it_started_on(api: str) -> None:
    listed = {w["name"]: w for w in get(api).body["workflows"]}
    chain = listed["t_chain"]
    assert chain["version"].startswith("fp-") and len(chain["fingerprint"]) == 16
    view = get(f"{start(api, 't_chain', {'value': 1})}?wait=30").body
    assert (view["version"], view["fingerprint"]) == (chain["version"], chain["fingerprint"])
    document = get(f"{api.rsplit('/workflows', 1)[0]}/openapi.json").body
    assert document["paths"]["/workflows/t_chain"]["post"]["x-workflow-fingerprint"] == chain["fingerprint"]
