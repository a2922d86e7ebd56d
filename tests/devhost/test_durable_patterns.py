"""The Durable patterns on a plain azure-functions-durable app, through the SDK client (the app's
own starter functions) and through the public management API."""

from __future__ import annotations

import http.client
import json
from datetime import timedelta
from urllib.parse import urlsplit

from tests.devhost.helpers import Reply, call, finished, start, start_raw, status

WEBHOOK = "/runtime/webhooks/durabletask"


def client(host, op: str, iid: str, arg: str = "", body=None):
    reply = call("POST", f"{host.api_url}/client/{op}/{iid}?arg={arg}", body)
    assert reply.status == 200, reply.text
    return reply.json


def advance_until_done(host, iid: str, step: timedelta, limit: int = 20) -> dict:
    for _ in range(limit):
        host.wait_until_idle()
        reply = status(host, iid)
        if reply.status == 200:
            return reply.json
        host.clock.advance(step)
    raise AssertionError(f"{iid} did not finish: {status(host, iid).text}")


def test_chaining_through_management_api_with_history(basic):
    reply = start_raw(basic, "chaining", {"ignored": True}, instance_id="chain-raw")
    assert reply.status == 202
    assert reply.headers["Location"].endswith(reply.json["statusQueryGetUri"].split(":", 2)[2][5:])
    assert reply.json["id"] == "chain-raw"
    done = finished(basic, "chain-raw")
    assert done["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert done["customStatus"] == {"step": 3}
    assert done["input"] == {"ignored": True}
    full = status(basic, "chain-raw", "?showHistory=true&showHistoryOutput=true").json
    kinds = [e["EventType"] for e in full["historyEvents"]]
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionCompleted"
    assert kinds.count("TaskCompleted") == 3
    first = next(e for e in full["historyEvents"] if e["EventType"] == "TaskCompleted")
    assert first["FunctionName"] == "say_hello" and first["Result"] == "Hello Tokyo!"
    assert {"Timestamp", "ScheduledTime"} <= set(first)
    assert full["historyEvents"][-1]["OrchestrationStatus"] == "Completed"


def test_sdk_client_status_with_history(basic):
    iid = start(basic, "chaining")
    finished(basic, iid)
    body = client(basic, "status", iid)
    assert body["runtimeStatus"] == "Completed"
    assert body["output"][0] == "Hello Tokyo!"
    assert body["historyEvents"][0]["EventType"] == "ExecutionStarted"
    waited = call("POST", f"{basic.api_url}/client/wait/{iid}")
    assert waited.status == 200 and waited.json[2] == "Hello London!"
    payload = client(basic, "payload", iid)
    assert payload["id"] == iid and iid in payload["statusQueryGetUri"]


def test_fan_out_fan_in_100(basic):
    iid = start(basic, "fan_out", 100)
    assert finished(basic, iid)["output"] == sum(i * 2 for i in range(100))


def test_human_interaction_event_before_deadline(basic):
    iid = start(basic, "approval", {"hours": 72})
    basic.wait_until_idle()
    assert status(basic, iid).status == 202
    client(basic, "raise", iid, "Approval", {"by": "alice"})
    done = finished(basic, iid)
    # As with the real host, the SDK client double-encodes event data: the orchestrator gets JSON text.
    assert json.loads(done["output"]["approved"]) == {"by": "alice"}


def test_human_interaction_deadline_passed_on_test_clock(basic):
    iid = start(basic, "approval", {"hours": 72})
    basic.wait_until_idle()
    basic.clock.advance(timedelta(hours=73))
    done = finished(basic, iid)
    assert done["output"] == {"approved": None, "timed_out": True}
    # An event after completion is refused with 410.
    late = call("POST", f"{basic.base_url}{WEBHOOK}/instances/{iid}/raiseEvent/Approval", {"x": 1})
    assert late.status == 410


def test_events_raised_before_the_orchestrator_waits_are_buffered_in_order(basic):
    reply = start_raw(basic, "early_event", None, instance_id="early-1")
    assert reply.status == 202
    for n in (1, 2):
        r = call("POST", f"{basic.base_url}{WEBHOOK}/instances/early-1/raiseEvent/Go", {"n": n})
        assert r.status == 202
    assert finished(basic, "early-1")["output"] == ["Hello early!", {"n": 1}, {"n": 2}]


def test_monitor_with_timers_and_continue_as_new(basic):
    iid = start(basic, "monitor")
    done = advance_until_done(basic, iid, timedelta(minutes=31))
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == [0, 2, 4]


def test_sub_orchestrations_with_retry(basic):
    iid = start(basic, "parent")
    done = advance_until_done(basic, iid, timedelta(seconds=6))
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"]["child"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert done["output"]["retried"] == "child-sub ok after 3 attempts"
    child = finished(basic, f"{iid}:0")
    assert child["name"] == "chaining"


def test_activity_fails_twice_then_succeeds_under_retry_policy(basic):
    iid = start(basic, "with_retry", "retry-key-1")
    done = advance_until_done(basic, iid, timedelta(seconds=3))
    assert done["output"] == ["retry-key-1 ok after 3 attempts", "Hello after retry!"]
    events = status(basic, iid, "?showHistory=true").json["historyEvents"]
    assert [e["EventType"] for e in events].count("TaskFailed") == 2
    assert [e["EventType"] for e in events].count("TimerFired") == 2


def test_retry_exhausted_fails_the_instance(basic):
    iid = start(basic, "retry_exhausted")
    done = advance_until_done(basic, iid, timedelta(seconds=2))
    assert done["runtimeStatus"] == "Failed"
    assert "boom: never" in done["output"]


def test_uncaught_activity_failure_fails_the_instance(basic):
    iid = start(basic, "failing")
    done = finished(basic, iid)
    assert done["runtimeStatus"] == "Failed"
    assert "Activity function 'fail_always' failed: boom: uncaught" in done["output"]


def test_terminate_suspend_resume_purge_via_sdk_client(basic):
    iid = start(basic, "waiter")
    basic.wait_until_idle()
    client(basic, "suspend", iid, "pause")
    basic.wait_until_idle()
    assert status(basic, iid).json["runtimeStatus"] == "Suspended"
    client(basic, "raise", iid, "Continue", "v1")  # held while suspended
    basic.wait_until_idle()
    assert status(basic, iid).json["runtimeStatus"] == "Suspended"
    client(basic, "resume", iid, "go-on")
    done = finished(basic, iid)
    assert done["runtimeStatus"] == "Completed" and done["output"] == 'Hello "v1"!'

    other = start(basic, "waiter")
    basic.wait_until_idle()
    client(basic, "terminate", other, "enough")
    done = finished(basic, other)
    assert done["runtimeStatus"] == "Terminated" and done["output"] == "enough"
    assert client(basic, "purge", other) == 1
    assert status(basic, other).status == 404
    assert client(basic, "purge", other) == 0
    # The SDK's restart returns the body of the extension's answer as it is: the new instance's
    # check-status payload (HttpApiHandler.HandleRestartInstanceRequestAsync), not a bare id.
    payload = client(basic, "restart", iid)
    restarted = payload["id"]
    assert restarted != iid and payload["statusQueryGetUri"].split("?")[0].endswith(f"/instances/{restarted}")
    basic.wait_until_idle()
    again = status(basic, restarted)
    assert again.status == 202 and again.json["name"] == "waiter" and again.json["runtimeStatus"] == "Running"
    client(basic, "terminate", restarted, "cleanup")
    basic.wait_until_idle()


def test_terminate_suspend_resume_purge_via_management_api(basic):
    start_raw(basic, "waiter", None, instance_id="mgmt-1")
    basic.wait_until_idle()
    base = f"{basic.base_url}{WEBHOOK}/instances/mgmt-1"
    assert call("POST", f"{base}/suspend?reason=x").status == 202
    basic.wait_until_idle()
    assert status(basic, "mgmt-1").json["runtimeStatus"] == "Suspended"
    assert call("POST", f"{base}/resume?reason=y").status == 202
    basic.wait_until_idle()
    assert status(basic, "mgmt-1").json["runtimeStatus"] == "Running"
    assert call("POST", f"{base}/terminate?reason=stop").status == 202
    done = finished(basic, "mgmt-1")
    assert done["runtimeStatus"] == "Terminated"
    assert call("POST", f"{base}/terminate?reason=again").status == 410
    assert call("POST", f"{base}/rewind?reason=x").status == 410  # terminated: only failed ones rewind
    assert call("DELETE", base).json == {"instancesDeleted": 1}
    assert call("DELETE", base).status == 404
    assert status(basic, "mgmt-1").status == 404


def test_management_api_errors_are_clear_4xx(basic):
    base = f"{basic.base_url}{WEBHOOK}"
    assert status(basic, "nope").status == 404
    assert "nope" in status(basic, "nope").json["Message"]
    assert call("POST", f"{base}/instances/nope/raiseEvent/E", {}).status == 404
    start_raw(basic, "waiter", None, instance_id="bad-json")
    bad = call("POST", f"{base}/instances/bad-json/raiseEvent/E", raw=b"{not json")
    assert bad.status == 400 and "JSON" in bad.json["Message"]
    assert start_raw(basic, "no_such_orchestrator").status == 400
    assert start_raw(basic, "waiter", None, instance_id="bad-json").status == 409
    assert call("GET", f"{base}/instances?runtimeStatus=Bogus").status == 400
    assert call("GET", f"{base}/instances?createdTimeFrom=yesterday").status == 400
    assert call("GET", f"{base}/instances", headers={"x-ms-continuation-token": "???"}).status == 400
    call("POST", f"{base}/instances/bad-json/terminate?reason=done")
    basic.wait_until_idle()


def test_raise_event_takes_only_json_content(basic):
    # HttpApiHandler.HandleRaiseEventRequestAsync: the instance first (none: 404; completed, failed,
    # terminated or canceled: 410), then the media type, compared with OrdinalIgnoreCase: anything but
    # application/json (a charset parameter is fine; text/plain, none at all) is a 400 "Only
    # application/json request content is supported"; a body that is not one JSON value (empty too:
    # JToken.Load reads nothing) is a 400 "Invalid JSON content". Neither raises the event.
    base = f"{basic.base_url}{WEBHOOK}/instances"
    start_raw(basic, "waiter", None, instance_id="typed-1")
    basic.wait_until_idle()
    url = f"{base}/typed-1/raiseEvent/Continue"
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx", None):
        headers = {"Content-Type": content_type} if content_type else {}
        reply = call("POST", url, raw=b'"v"', headers=headers) if content_type else _without_type(url, b'"v"')
        assert reply.status == 400, (content_type, reply.status, reply.text)
        assert "Only application/json request content is supported" in reply.json["Message"]
    for body in (b"", b"  ", b"{not json"):
        reply = call("POST", url, raw=body)
        assert reply.status == 400 and "Invalid JSON content" in reply.json["Message"], (body, reply.text)
    basic.wait_until_idle()
    assert status(basic, "typed-1").json["runtimeStatus"] == "Running"  # nothing was raised
    assert (
        call(
            "POST", f"{base}/nope/raiseEvent/Continue", raw=b"x", headers={"Content-Type": "text/plain"}
        ).status
        == 404
    )
    ok = call("POST", url, raw=b'"v1"', headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert ok.status == 202, ok.text
    assert finished(basic, "typed-1")["output"] == "Hello v1!"
    gone = call("POST", url, raw=b"x", headers={"Content-Type": "text/plain"})
    assert gone.status == 410  # the instance's state is checked before the content


def _without_type(url: str, body: bytes) -> Reply:
    """A POST with a body and no Content-Type header at all (urllib adds a form type by default)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", f"{parts.path}?{parts.query}" if parts.query else parts.path)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        return Reply(answer.status, dict(answer.getheaders()), answer.read().decode())
    finally:
        connection.close()


def test_list_filters_and_paging(basic):
    for n in range(3):
        start_raw(basic, "chaining", None, instance_id=f"page-{n}")
    basic.wait_until_idle()
    base = f"{basic.base_url}{WEBHOOK}/instances"
    seen, token = [], None
    while True:
        reply = call(
            "GET",
            f"{base}?instanceIdPrefix=page-&top=2",
            headers={"x-ms-continuation-token": token} if token else None,
        )
        assert reply.status == 200
        seen += [s["instanceId"] for s in reply.json]
        token = reply.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert sorted(seen) == ["page-0", "page-1", "page-2"]
    completed = call("GET", f"{base}?runtimeStatus=Completed&instanceIdPrefix=page-").json
    assert len(completed) == 3
    future = call("GET", f"{base}?createdTimeFrom=2999-01-01T00:00:00Z").json
    assert future == []
    listed = client(basic, "list", "x")
    assert {"page-0", "page-1", "page-2"} <= set(listed)
    assert client(basic, "purge_by", "x") >= 3


def test_long_timer_is_split_and_fires(basic):
    iid = start(basic, "long_timer")
    done = advance_until_done(basic, iid, timedelta(days=2))
    assert done["output"] == "after ten days"
    events = status(basic, iid, "?showHistory=true").json["historyEvents"]
    assert [e["EventType"] for e in events].count("TimerFired") == 2  # 3-day slice, then the rest (<= 6 days)


def test_entities_fail_with_a_clear_error(basic):
    iid = start(basic, "uses_entity")
    done = finished(basic, iid)
    assert done["runtimeStatus"] == "Failed"
    assert "entity" in done["output"] and "@counter@c1" in done["output"].lower()
