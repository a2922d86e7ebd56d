"""Agent steps run durably on devhost, over HTTP: each call an activity of the step's own orchestration, a
person asked before a tool through the run's approval route, and the calls in the timeline and the event
feed; the outputs are the in-memory runner's (the offline model decides, deterministically)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevHostHandle, run_devhost
from engine import InMemoryRunner, ManualClock
from engine.cli.watch import watch
from engine.durable.loop_messages import CALL_ACTIVITY, LOOP_ORCHESTRATOR
from tests.agents.loop_workflows import a_desk, a_ledgered, a_map
from tests.durable.http import call, finished, get, post, wait_for

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "/runtime/webhooks/durabletask/instances"
OFFLINE = {
    name: ""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")
}
ASK = {"order_id": "ORD-101200", "reason": "Arrived broken"}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    state = tmp_path_factory.mktemp("agents") / "state.sqlite"
    settings = {
        "WORKFLOW_MODULES": "tests.agents.loop_workflows",
        "APPROVAL_SIGNING_KEY": "agent-tests-signing-key-not-a-secret",
        **OFFLINE,
    }
    with run_devhost(ROOT, state=state, in_memory=False, settings=settings) as handle:
        yield handle


def history(host: DevHostHandle, instance_id: str) -> list[dict[str, Any]]:
    return get(f"{host.base_url}{WEBHOOK}/{instance_id}?showHistory=true&showHistoryOutput=true").body[
        "historyEvents"
    ]


def instances(host: DevHostHandle, prefix: str) -> dict[str, str]:
    listed = get(f"{host.base_url}{WEBHOOK}?instanceIdPrefix={prefix}").body
    return {i["instanceId"]: i["name"] for i in listed}


async def in_memory(workflow: Any, instance_id: str, answers: dict[str, Any] | None = None) -> list[Any]:
    """The run's outputs in memory (the same instance id: the tools' idempotency keys derive from it)."""
    runner = InMemoryRunner(clock=ManualClock())
    result = await runner.run(workflow, ASK, instance_id=instance_id)
    if answers is not None:
        [asked] = result.pending_approvals
        result = await runner.resume(result.state, {asked.request_id: answers}, workflow=workflow)
    assert result.status == "completed", result.error
    return result.outputs_json()


async def test_each_call_is_an_activity_of_the_steps_own_orchestration(host: DevHostHandle) -> None:
    run = post(f"{host.api_url}/workflows/a_ledgered", ASK).body["runUri"]
    view = wait_for(run, finished, timeout=60).body
    assert view["runtimeStatus"] == "Completed", view["error"]
    assert view["outputs"] == await in_memory(a_ledgered, view["instanceId"])  # the same loop, in memory
    run_id = view["instanceId"]
    [loop_id] = [i for i, name in instances(host, run_id).items() if name == LOOP_ORCHESTRATOR]
    assert loop_id == f"{run_id}:a_ledgered_agent:1:0:a1"  # the run, the step and the attempt
    loop_history = history(host, loop_id)
    calls = [
        e
        for e in loop_history
        if e["EventType"] == "TaskCompleted" and e.get("FunctionName") == CALL_ACTIVITY
    ]
    results = [json.loads(e["Result"]) if isinstance(e["Result"], str) else e["Result"] for e in calls]
    assert [(r["key"], r["kind"]) for r in results] == [("m1", "model"), ("t1.0", "tool"), ("m2", "model")]
    # The run itself holds no call: the step's result, as its orchestration returned it.
    run_events = [e["EventType"] for e in history(host, run_id)]
    assert "SubOrchestrationInstanceCompleted" in run_events and "TaskCompleted" not in run_events


async def test_a_person_approves_before_the_tool_over_http(host: DevHostHandle) -> None:
    run = post(f"{host.api_url}/workflows/a_desk", ASK).body["runUri"]
    view = get(f"{run}?wait=30").body
    assert view["phase"] == "waiting_for_approval"
    assert view["executors"] == {"a_desk_agent": "waiting"}
    [pending] = view["pendingApprovals"]
    assert pending["approval_id"] == "a_desk_agent.refund"
    assert pending["request"]["tool"] == "refund"
    assert pending["request"]["arguments"] == {
        "order_id": "ORD-101200",
        "amount": 1200.0,
        "reason": "Arrived broken",
    }
    assert pending["deadline"] is not None
    assert pending["step_orchestration"].endswith(":a_desk_agent:1:0:a1")
    found = get(pending["respond_uri"]).body  # the approval route finds it, in the step's orchestration
    assert (found["request"]["tool"], found["step_orchestration"]) == (
        "refund",
        pending["step_orchestration"],
    )
    documented = get(f"{host.api_url}/openapi.json").body["paths"]
    assert "/workflows/a_desk/runs/{instanceId}/approvals/{requestId}" in documented

    answered = post(pending["respond_uri"], {"approved": True, "comment": "fine"})

    assert answered.status == 202 and answered.body["taken"] is True, answered.body
    done = get(f"{answered.body['waitUri'].replace('wait=30', 'wait=30&until=finished')}&timeline=true").body
    assert done["runtimeStatus"] == "Completed", done["error"]
    assert done["outputs"] == await in_memory(
        a_desk, done["instanceId"], {"approved": True, "comment": "fine"}
    )
    [output] = done["outputs"]
    assert "refund: order id ORD-101200, refunded 1200.0" in output["message"]
    again = post(pending["respond_uri"], {"approved": False})
    assert again.status == 410  # the run has finished
    [closed] = done["closedApprovals"]  # the step's question, closed in its own orchestration
    assert (closed["request_id"], closed["outcome"], closed["answer"]) == (
        pending["request_id"],
        "answered",
        {"approved": True, "comment": "fine"},
    )
    assert done["closedApprovalsTotal"] == 1

    # The timeline: each call of the step with its arguments, result and duration, and the decision.
    entries = done["timeline"]["entries"]
    calls = [e for e in entries if e["kind"] == "call"]
    assert [(c["call"], c["name"]) for c in calls] == [
        ("model", "model"),
        ("tool", "lookup"),
        ("model", "model"),
        ("tool", "refund"),
        ("model", "model"),
    ]
    refund = calls[3]
    assert refund["arguments"] == pending["request"]["arguments"]
    assert json.loads(refund["result"])["refunded"] == 1200.0
    assert refund["duration_ms"] >= 0 and refund["elapsed_ms"] is not None
    assert calls[0]["model"] == "offline" and calls[0]["tool_calls"][0]["name"] == "lookup"
    [decision] = [e for e in entries if e["kind"] == "approval"]
    assert (decision["request_id"], decision["outcome"]) == (pending["request_id"], "answered")
    [step] = [e for e in entries if e["kind"] == "step"]
    assert (
        step["executor"] == "a_desk_agent"
        and step["agent"]["calls"] == 3
        and step["agent"]["tool_calls"] == 2
    )

    # The event feed: the same calls, in order, as `python -m engine watch` prints them.
    feed = get(f"{run}/events").body
    kinds = [
        (e["kind"], e.get("call"))
        for e in feed["events"]
        if e["kind"] not in ("step_started", "step_completed")
    ]
    assert kinds == [
        ("run_started", None),
        ("model_call", "model"),
        ("tool_call", "lookup"),
        ("model_call", "model"),
        ("approval_requested", None),
        ("approval_answered", None),
        ("tool_call", "refund"),
        ("model_call", "model"),
        ("run_completed", None),
    ]
    tool_call = next(e for e in feed["events"] if e.get("call") == "refund")
    assert tool_call["detail"].startswith(
        '{"order_id":"ORD-101200","amount":1200.0,"reason":"Arrived broken"} → '
    )

    # `python -m engine watch <run>` prints them under the step.
    printed = io.StringIO()
    assert await asyncio.to_thread(watch, run, printed) == 0
    lines = printed.getvalue().splitlines()
    assert any("a_desk_agent model: offline: calls lookup" in line for line in lines), lines
    assert any('a_desk_agent tool refund: {"order_id":"ORD-101200"' in line for line in lines), lines
    assert any("a_desk_agent.refund" in line and "before a tool call" in line for line in lines), lines


async def test_a_refusal_is_told_to_the_model_and_the_tool_never_runs(host: DevHostHandle) -> None:
    run = post(f"{host.api_url}/workflows/a_desk", ASK).body["runUri"]
    [pending] = get(f"{run}?wait=30").body["pendingApprovals"]

    assert (
        post(pending["respond_uri"], {"approved": False, "comment": "call the customer first"}).status == 202
    )

    done = get(f"{run}?wait=30&until=finished&timeline=true").body
    assert done["runtimeStatus"] == "Completed", done["error"]
    calls = [e for e in done["timeline"]["entries"] if e["kind"] == "call"]
    assert "refund" not in [c["name"] for c in calls]
    [output] = done["outputs"]
    told = "refund: refused: the approver did not approve calling refund (call the customer first); the tool"
    assert told in output["message"]
    refused = {"approved": False, "comment": "call the customer first"}
    assert done["outputs"] == await in_memory(a_desk, done["instanceId"], refused)


async def test_only_the_named_approver_may_answer_before_the_tool(host: DevHostHandle) -> None:
    run = post(f"{host.api_url}/workflows/a_named", ASK).body["runUri"]
    [pending] = get(f"{run}?wait=30").body["pendingApprovals"]
    assert pending["approvers"] == ["manager"] and pending["can_answer"] is False

    anonymous = post(pending["respond_uri"], {"approved": True})
    assert anonymous.status == 401 and "manager" in anonymous.body["error"]
    wrong = post(pending["links_uri"], {"for": "intern"})
    assert wrong.status == 400

    link = post(pending["links_uri"], {"for": "manager"}).body["respond_uri"]
    answered = post(link, {"approved": True})

    assert answered.status == 202 and answered.body["decidedBy"] == "manager", answered.body
    done = get(f"{run}?wait=30&until=finished&timeline=true").body
    assert done["runtimeStatus"] == "Completed", done["error"]
    [decision] = [e for e in done["timeline"]["entries"] if e["kind"] == "approval"]
    assert (decision["decided_by"], decision["via"], decision["signed"]) == ("manager", "endpoint", True)
    reused = post(link, {"approved": True})
    assert reused.status == 410


async def test_agents_asking_inside_map_partitions_are_listed_answered_and_closed(
    host: DevHostHandle,
) -> None:
    batch = {"orders": ["ORD-7", "ORD-8"], "reason": "late"}
    run = post(f"{host.api_url}/workflows/a_map", batch).body["runUri"]

    view = wait_for(run, lambda r: r.body.get("pendingApprovalsTotal") == 2, timeout=60).body
    assert view["phase"] == "waiting_for_approval"
    assert view["executors"]["a_map_agent"] == "waiting"
    pending = sorted(view["pendingApprovals"], key=lambda p: p["request"]["arguments"]["order_id"])
    assert [p["request"]["arguments"]["order_id"] for p in pending] == ["ORD-7", "ORD-8"]
    assert {p["approval_id"] for p in pending} == {"a_map_agent.refund"}
    assert all(p["step_orchestration"].startswith(view["instanceId"] + ":a_map_agent:") for p in pending)
    assert view["closedApprovals"] == []
    found = get(pending[0]["respond_uri"]).body  # the approval route finds it inside its partition
    assert found["step_orchestration"] == pending[0]["step_orchestration"]

    first = post(pending[0]["respond_uri"], {"approved": True, "comment": "ok"})
    assert first.status == 202 and first.body["taken"] is True, first.body
    view = wait_for(run, lambda r: r.body.get("pendingApprovalsTotal") == 1, timeout=60).body
    assert [p["request_id"] for p in view["pendingApprovals"]] == [pending[1]["request_id"]]
    [closed] = view["closedApprovals"]
    assert (closed["request_id"], closed["outcome"], closed["answer"]) == (
        pending[0]["request_id"],
        "answered",
        {"approved": True, "comment": "ok"},
    )
    assert view["closedApprovalsTotal"] == 1

    second = post(pending[1]["respond_uri"], {"approved": False})
    assert second.status == 202, second.body
    done = get(f"{run}?wait=30&until=finished").body
    assert done["runtimeStatus"] == "Completed", done["error"]
    assert done["outputs"] == [["ORD-7", "ORD-8"]]
    assert sorted(c["request_id"] for c in done["closedApprovals"]) == sorted(
        p["request_id"] for p in pending
    )
    assert done["closedApprovalsTotal"] == 2 and done["pendingApprovals"] == []
    timeline = get(f"{run}?timeline=true").body["timeline"]["entries"]  # the partitions' agents' calls
    tools = sorted((e["name"], e["arguments"]["order_id"]) for e in timeline if e.get("call") == "tool")
    assert tools == [("lookup", "ORD-7"), ("lookup", "ORD-8"), ("refund", "ORD-7")]  # ORD-8's was refused
    feed = get(f"{run}/events").body["events"]  # and the feed (which watch prints) lists them too
    called = sorted(e["call"] for e in feed if e["kind"] == "tool_call")
    assert called == ["lookup", "lookup", "refund"]
    assert sum(e["kind"] == "model_call" for e in feed) >= 4  # each item's agent: at least two model calls
    # The feed's long poll reads the run again every quarter second: what had finished for good (each
    # partition, each agent step's orchestration) is read once per request, not once per poll.
    assert await asyncio.to_thread(asyncio.run, histories_read_per_poll(host, done["instanceId"])) == (4, 0)

    # Purging the run through the API purges its partitions' and agent steps' orchestrations (the agents'
    # conversations) with it; an instance someone started under the run's prefix with another input stays.
    iid = done["instanceId"]
    decoy = f"{iid}:a_map_agent:9:p0"
    started = post(
        f"{host.base_url}/runtime/webhooks/durabletask/orchestrators/{LOOP_ORCHESTRATOR}/{decoy}",
        {"workflow": "someone_else", "instance_id": "another-run"},
    )
    assert started.status == 202, started.body
    decoy_url = f"{host.base_url}{WEBHOOK}/{decoy}"
    wait_for(decoy_url, lambda r: r.body.get("runtimeStatus") == "Failed", timeout=30)
    inner = {i: n for i, n in instances(host, f"{iid}:").items() if i != decoy}
    assert sorted(inner.values()) == ["workflow_map_partition"] * 2 + [LOOP_ORCHESTRATOR] * 2, inner
    purged = call("DELETE", run)
    assert purged.status == 200, purged.body
    assert purged.body["innerOrchestrations"] == 4 and purged.body["purged"] is True
    assert instances(host, f"{iid}:") == {decoy: LOOP_ORCHESTRATOR}
    assert get(run).status == 404


async def histories_read_per_poll(host: DevHostHandle, instance_id: str) -> tuple[int, int]:
    """How many histories the feed's read of a finished run's agent steps costs its first poll, then the
    next (the run's two partitions and their two agent steps, then none)."""
    import azure.durable_functions as df
    from azure.durable_functions.models.utils import http_utils

    from engine.core.versions import WorkflowVersions
    from engine.durable.client import InstanceHistory
    from engine.durable.orchestrator import STEP_ACTIVITY
    from engine.functions.azure_client import AzureDurableClient
    from engine.functions.loop_reads import FinishedLoops, LoopReader
    from engine.functions.partition_reads import PartitionReader
    from engine.functions.run_reads import RunReader
    from tests.agents.loop_workflows import ALL

    class Counting(AzureDurableClient):  # the real client, counting the histories it reads
        reads = 0

        async def history(self, instance_id: str) -> InstanceHistory | None:
            Counting.reads += 1
            return await super().history(instance_id)

    # The SDK keeps one aiohttp session for the process, bound to the loop that first used it: this
    # (fresh) loop gets its own.
    http_utils._client_session = None
    client = Counting(df.DurableOrchestrationClient(host.host.client_binding()))
    versions = WorkflowVersions.of(ALL)
    partitions = PartitionReader(versions, STEP_ACTIVITY)
    loops = LoopReader(versions, partitions)
    named = {w.name: w for w in ALL}
    runs = RunReader(versions, named, partitions, activity=STEP_ACTIVITY, continue_every=20)
    run = (await runs.named(a_map, instance_id, client)).snapshot
    finished = FinishedLoops()
    counted = []
    for _ in range(2):
        before = Counting.reads
        assert len(await loops.all(client, run, in_partitions=True, finished=finished)) == 2
        counted.append(Counting.reads - before)
    session = http_utils._client_session
    if session is not None:
        await session.close()
    http_utils._client_session = None
    return counted[0], counted[1]


async def test_terminating_a_run_ends_the_agent_steps_its_partitions_started(host: DevHostHandle) -> None:
    run = post(f"{host.api_url}/workflows/a_map", {"orders": ["ORD-3", "ORD-4"], "reason": "x"}).body[
        "runUri"
    ]
    view = wait_for(run, lambda r: r.body.get("pendingApprovalsTotal") == 2, timeout=60).body
    loops = [p["step_orchestration"] for p in view["pendingApprovals"]]

    assert post(f"{run}/terminate", {"reason": "changed my mind"}).status == 202

    def ended(instance_id: str) -> bool:
        status = get(f"{host.base_url}{WEBHOOK}/{instance_id}").body
        return status["runtimeStatus"] == "Terminated"

    host.wait_until_idle(30)
    assert [ended(i) for i in loops] == [True, True]
    purged = call("DELETE", run)  # the run, its partitions and its agent steps' orchestrations, all ended
    assert purged.status == 200 and purged.body["innerOrchestrations"] == 4, purged.body


async def test_a_run_whose_own_orchestrations_still_run_is_not_purged(host: DevHostHandle) -> None:
    # Terminated around the workflow API (the management API ends the run's instance alone): its
    # partitions and agent steps still run, so purging it now would leave them behind or cut them off.
    run = post(f"{host.api_url}/workflows/a_map", {"orders": ["ORD-5", "ORD-6"], "reason": "x"}).body[
        "runUri"
    ]
    iid = wait_for(run, lambda r: r.body.get("pendingApprovalsTotal") == 2, timeout=60).body["instanceId"]
    stop = f"{host.base_url}{WEBHOOK}/{iid}/terminate?reason=around"
    assert post(stop).status == 202
    wait_for(run, lambda r: r.body.get("runtimeStatus") == "Terminated", timeout=30)
    refused = call("DELETE", run)
    assert refused.status == 409 and refused.body["field"] == "instanceId", refused.body
    assert "still running" in refused.body["error"]
    assert get(run).status == 200  # nothing was purged


async def test_an_unanswered_question_escalates_then_the_escalation_decides(host: DevHostHandle) -> None:
    """Last in this module: it moves the host's clock."""
    run = post(f"{host.api_url}/workflows/a_escalating", ASK).body["runUri"]
    [asked] = get(f"{run}?wait=30").body["pendingApprovals"]
    assert (asked["approval_id"], asked["approvers"]) == ("a_esc_agent.refund", ["manager"])

    host.clock.advance(timedelta(minutes=61))  # the manager's hour passes

    def escalated(reply: Any) -> bool:
        pending = reply.body.get("pendingApprovals") or []
        return bool(pending) and pending[0]["approval_id"] == "a_esc_agent.refund.escalated"

    [again] = wait_for(run, escalated, timeout=60).body["pendingApprovals"]
    assert again["approvers"] == ["finance"] and again["escalated_from"] == "a_esc_agent.refund"
    assert again["request"] == asked["request"]  # the same call, now finance's to decide
    link = post(again["links_uri"], {"for": "finance"}).body["respond_uri"]
    assert post(link, {"approved": True}).status == 202

    done = get(f"{run}?wait=30&until=finished&timeline=true").body
    assert done["runtimeStatus"] == "Completed", done["error"]
    decisions = [
        (e["approval_id"], e["outcome"], e["decided_by"])
        for e in done["timeline"]["entries"]
        if e["kind"] == "approval"
    ]
    assert decisions == [
        ("a_esc_agent.refund", "timed_out", None),
        ("a_esc_agent.refund.escalated", "answered", "finance"),
    ]
    assert "refund" in [e["name"] for e in done["timeline"]["entries"] if e["kind"] == "call"]
