"""The asynchronous HTTP 202 pattern of the durable management webhooks and of the SDK client, on a
plain azure-functions-durable app, as the Durable extension answers it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS, call, finished, start, start_raw, status

WEBHOOK = "/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(APPS / "contracts") as handle:
        yield handle


def test_start_answers_202_with_location_and_retry_after(host):
    # HttpApiHandler.CreateCheckStatusResponseMessage (Azure/azure-functions-durable-extension): 202,
    # Location = statusQueryGetUri, Retry-After 10 s; the SDK's create_check_status_response the same.
    for reply in (start_raw(host, "slow", 0), call("POST", f"{host.api_url}/start/slow", 0)):
        assert reply.status == 202, reply.text
        assert reply.headers["Location"] == reply.json["statusQueryGetUri"]
        assert reply.headers["Retry-After"] == "10"
    assert "rewindPostUri" not in start_raw(host, "slow", 0).json  # the webhook's body names no rewind link


def test_status_of_running_instance_is_202_with_location_then_200(host):
    # HttpApiHandler.HandleGetStatusRequestAsync: Running/Pending/ContinuedAsNew/Suspended -> 202 with
    # Location = the request's URI and Retry-After 5 s; Completed/Terminated/Canceled -> 200, no Location.
    iid = start_raw(host, "slow", 1.0).json["id"]
    running = status(host, iid, "?showInput=false")
    assert running.status == 202, running.text
    assert running.headers["Location"] == f"{host.base_url}{WEBHOOK}/instances/{iid}?showInput=false"
    assert running.headers["Retry-After"] == "5"
    done = finished(host, iid)
    assert done["output"] == "slept 1.0"
    reply = status(host, iid)
    assert reply.status == 200 and "Location" not in reply.headers and "Retry-After" not in reply.headers


def test_return_internal_server_error_on_failure(host):
    # HttpApiHandler.HandleGetStatusRequestAsync: a Failed instance answers 500 when the query asks with
    # returnInternalServerErrorOnFailure=true, else 200 (the extension's default since 2.x).
    iid = start_raw(host, "failing").json["id"]
    host.wait_until_idle()
    assert status(host, iid).status == 200
    assert status(host, iid, "?returnInternalServerErrorOnFailure=false").status == 200
    failed = status(host, iid, "?returnInternalServerErrorOnFailure=true")
    assert failed.status == 500 and failed.json["runtimeStatus"] == "Failed"


def test_webhook_start_waits_with_timeout_and_polling_interval(host):
    # HttpApiHandler.HandleStartOrchestratorRequestAsync: with both `timeout` and `pollingInterval`
    # (seconds) it waits (WaitForCompletionOrCreateCheckStatusResponseAsync): Completed -> 200 with the
    # output; still running at the timeout -> the 202 check-status response.
    began = time.monotonic()
    reply = call("POST", f"{host.base_url}{WEBHOOK}/orchestrators/slow?timeout=10&pollingInterval=0.05", 0.5)
    assert reply.status == 200, reply.text
    assert reply.json == "slept 0.5"
    assert 0.5 <= time.monotonic() - began < 9
    late = call("POST", f"{host.base_url}{WEBHOOK}/orchestrators/slow?timeout=0.2&pollingInterval=0.05", 2)
    assert late.status == 202 and late.headers["Location"] == late.json["statusQueryGetUri"]
    only_timeout = call("POST", f"{host.base_url}{WEBHOOK}/orchestrators/slow?timeout=10", 0.3)
    assert only_timeout.status == 202  # the extension waits only when both are given
    failed = call("POST", f"{host.base_url}{WEBHOOK}/orchestrators/failing?timeout=10&pollingInterval=0.05")
    assert failed.status == 200 and failed.json["runtimeStatus"] == "Failed"
    wrong = call("POST", f"{host.base_url}{WEBHOOK}/orchestrators/slow?timeout=1&pollingInterval=2")
    assert wrong.status == 400  # the extension's ArgumentException: interval longer than the timeout
    host.wait_until_idle()


def test_sdk_wait_for_completion_waits_for_the_output(host):
    # azure-functions-durable's wait_for_completion_or_create_check_status_response polls get_status
    # (the RPC status query) until the timeout: Completed -> 200 with the output, else the 202 response.
    reply = call("POST", f"{host.api_url}/wait/slow?timeout_ms=10000&interval_ms=50", 0.5)
    assert reply.status == 200, reply.text
    assert reply.text == "slept 0.5"  # the SDK writes a string output as it is, not as JSON
    late = call("POST", f"{host.api_url}/wait/slow?timeout_ms=200&interval_ms=50", 2)
    assert late.status == 202 and late.headers["Location"] == late.json["statusQueryGetUri"]
    failed = call("POST", f"{host.api_url}/wait/failing?timeout_ms=10000&interval_ms=50")
    assert failed.status == 500 and failed.json["runtimeStatus"] == "Failed"
    host.wait_until_idle()


@pytest.mark.parametrize(
    ("body", "value", "kind"),
    [
        (b'"hello"', "hello", "str"),
        (b"42", 42, "int"),
        (b"[1, 2]", [1, 2], "list"),
        (b"true", True, "bool"),
        (b'{"a": 1}', {"a": 1}, "dict"),
        (b"", None, "NoneType"),
    ],
)
def test_webhook_start_with_bare_json_values(host, body, value, kind):
    # HttpApiHandler.HandleStartOrchestratorRequestAsync deserializes whatever JSON value the body holds
    # and keeps it as the instance's input: get_input() returns that value, the status shows it.
    reply = start_raw(host, "echo_input", raw=body) if body else start_raw(host, "echo_input")
    assert reply.status == 202, reply.text
    done = finished(host, reply.json["id"])
    assert done["output"] == {"value": value, "type": kind}
    assert done["input"] == value


def test_sdk_start_new_inputs_still_arrive_as_sent(host):
    # The SDK client sends the input's JSON text as a JSON string; get_input() decodes it to the value.
    for value, kind in (("hello", "str"), ({"a": [1]}, "dict"), (7, "int"), ('{"looks": "json"}', "str")):
        iid = start(host, "echo_input", value)
        assert finished(host, iid)["output"] == {"value": value, "type": kind}


CHECK_STATUS_LINKS = {
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
}


def test_restart_answers_the_check_status_response(host):
    # HttpApiHandler.HandleRestartInstanceRequestAsync: RestartAsync (restartWithNewInstanceId, true when
    # absent or not a boolean), then client.CreateCheckStatusResponse for the new instance: 202, the
    # instance's links (as a start's: every one but rewind), Location = statusQueryGetUri, Retry-After 10.
    old = start_raw(host, "echo_input", "again").json["id"]
    finished(host, old)
    reply = call("POST", f"{host.base_url}{WEBHOOK}/instances/{old}/restart")
    assert reply.status == 202, reply.text
    assert set(reply.json) == CHECK_STATUS_LINKS
    new = reply.json["id"]
    assert new != old and reply.json["statusQueryGetUri"].startswith(
        f"{host.base_url}{WEBHOOK}/instances/{new}?"
    )
    assert (
        reply.headers["Location"] == reply.json["statusQueryGetUri"] and reply.headers["Retry-After"] == "10"
    )
    assert finished(host, new)["output"] == {"value": "again", "type": "str"}
    same = call("POST", f"{host.base_url}{WEBHOOK}/instances/{old}/restart?restartWithNewInstanceId=false")
    assert same.status == 202 and same.json["id"] == old
    host.wait_until_idle()
    fresh = call("POST", f"{host.base_url}{WEBHOOK}/instances/{old}/restart?restartWithNewInstanceId=maybe")
    assert fresh.status == 202 and fresh.json["id"] not in (old, new)  # not a boolean: the default
    host.wait_until_idle()


def test_restart_waits_with_timeout_and_polling_interval(host):
    # HandleRestartInstanceRequestAsync with both `timeout` and `pollingInterval`:
    # WaitForCompletionOrCreateCheckStatusResponseAsync, as a start does: the output (200) if the restarted
    # instance completes in time, else the 202 check-status response.
    old = start_raw(host, "slow", 0.3).json["id"]
    finished(host, old)
    done = call("POST", f"{host.base_url}{WEBHOOK}/instances/{old}/restart?timeout=10&pollingInterval=0.05")
    assert done.status == 200 and done.json == "slept 0.3"
    late = call("POST", f"{host.base_url}{WEBHOOK}/instances/{old}/restart?timeout=0.1&pollingInterval=0.05")
    assert late.status == 202 and late.headers["Location"] == late.json["statusQueryGetUri"]
    host.wait_until_idle()


def test_restart_of_an_unknown_instance_is_a_400(host):
    # DurableClient.RestartAsync throws ArgumentException for an instance it does not find; the handler
    # answers it 400 "InstanceId does not match a valid orchestration instance."
    reply = call("POST", f"{host.base_url}{WEBHOOK}/instances/no-such-instance/restart")
    assert reply.status == 400 and "does not match a valid orchestration instance" in reply.json["Message"]


def test_status_times_are_whole_seconds_and_the_history_keeps_sub_second_times(host):
    # HttpApiHandler.ConvertFrom prints CreatedTime and LastUpdatedTime with ToString("s") + "Z": whole
    # seconds, as devhost does; the history's timestamps (and devhost's stored record) keep the fraction,
    # which is what a run's true duration is read from.
    iid = start_raw(host, "slow", 0.2).json["id"]
    done = finished(host, iid)
    for key in ("createdTime", "lastUpdatedTime"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", done[key]), done[key]
    events = status(host, iid, "?showHistory=true").json["historyEvents"]
    stamps = [e["Timestamp"] for e in events]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", s) for s in stamps), stamps
    record = host.host.task_hub.records[iid]
    assert "." in record.created and "." in record.updated
