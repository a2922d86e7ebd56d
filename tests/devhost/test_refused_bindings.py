"""Bindings devhost does not run (Service Bus, Event Hubs, Cosmos DB, Twilio, SendGrid, ...) are
named at start-up with the function using each, and calling such a function fails with an error naming
the binding: never a call with the binding silently missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS, call, finished, start

APP = APPS / "unsupported_bindings"


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(APP) as handle:
        yield handle


def test_start_up_names_each_refused_binding_and_its_function(host):
    # `func start` lists every indexed function with its trigger; devhost lists those it cannot run
    # apart, each with the bindings it does not run.
    banner = host.host.banner()
    refused = banner.split("Not run by devhost")[1]
    for line in (
        "send_sms: twilioSms output binding 'sms'",
        "on_order: serviceBusTrigger trigger 'msg'",
        "on_telemetry: eventHubTrigger trigger 'event'",
        "on_items: cosmosDBTrigger trigger 'docs'",
        "read_row: sendGrid output binding 'mail'",
    ):
        assert f"\t{line}\n" in refused, banner
    assert "fine" not in refused and "uses_row" not in refused and "\tstart:" not in refused


@pytest.mark.parametrize(
    ("method", "path", "binding"),
    [
        ("POST", "sms", "twilioSms output binding 'sms'"),
    ],
)
def test_http_function_with_a_refused_binding_answers_json_naming_it(host, method, path, binding):
    # The Functions host fails an invocation whose binding cannot be bound; devhost answers 501 with a
    # JSON error naming the binding, before the function runs (never "missing 1 required argument").
    reply = call(method, f"{host.api_url}/{path}", {"x": 1})
    assert reply.status == 501, reply.text
    error = reply.json["error"]
    assert binding in error and "devhost does not run" in error and "func start" in error
    assert call("GET", f"{host.api_url}/fine").text == "fine"


def test_activity_with_a_refused_binding_fails_its_task_naming_it(host):
    # An activity that cannot be bound fails (TaskFailed), and the orchestration with it, with the reason.
    done = finished(host, start(host, "uses_row"))
    assert done["runtimeStatus"] == "Failed"
    assert "sendGrid output binding 'mail'" in done["output"] and "devhost does not run" in done["output"]
