"""The task hub's name from an app setting, and management requests that name another task hub, as the
Durable extension handles them (Azure/azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask:
Options/DurableTaskOptions.cs ResolveAppSettingOptions, HttpApiHandler.cs GetClient,
ContextImplementations/DurableClient.cs GetDurableClient). The app (apps/scheduler_template) is written as
the Durable Task Scheduler template writes it: ``"hubName": "%TASKHUB_NAME%"``."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from devhost.config.errors import DevHostError
from devhost.testing import DevHostHandle, DevHostProcess, run_devhost
from tests.devhost.helpers import APPS, call, finished, start_raw, status

APP = APPS / "scheduler_template"
WEBHOOK = "/runtime/webhooks/durabletask"
HUB = "SchedulerHub"  # TASKHUB_NAME in the app's local.settings.json


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(APP) as handle:
        yield handle


def _task_hub_of(url: str) -> list[str]:
    return parse_qs(urlsplit(url).query)["taskHub"]


def test_a_hub_name_that_is_one_app_setting_is_resolved(host):
    # DurableTaskOptions.ResolveAppSettingOptions: INameResolver.TryResolveWholeString("%TASKHUB_NAME%")
    # gives the setting's value, which the client binding (taskHubName) and every link carry.
    assert host.host.settings.hub_name == HUB
    reply = call("POST", f"{host.api_url}/start/greet")
    assert reply.status == 202, reply.text
    assert _task_hub_of(reply.json["statusQueryGetUri"]) == [HUB]
    webhook = start_raw(host, "greet")
    assert _task_hub_of(webhook.json["statusQueryGetUri"]) == [HUB]
    assert finished(host, webhook.json["id"])["output"] == "Hello Tokyo!"


def test_an_unset_hub_name_setting_is_a_start_up_error():
    # Unresolved, the extension keeps "%TASKHUB_NAME%", which no storage provider accepts as a task hub
    # name: the host does not start. devhost says which setting is missing.
    with (
        pytest.raises(DevHostError, match="TASKHUB_NAME is not set"),
        run_devhost(APP, settings={"TASKHUB_NAME": ""}),
    ):
        pass


def test_the_apps_hub_named_in_any_case_or_blank_is_the_apps(host):
    # GetClient ignores a blank taskHub; DurableClient.GetDurableClient compares hub names with
    # OrdinalIgnoreCase, so the app's own hub in another case is the app's client.
    iid = start_raw(host, "greet").json["id"]
    finished(host, iid)
    for query in (f"?taskHub={HUB}", f"?taskHub={HUB.upper()}", "?TASKHUB=schedulerhub", "?taskHub=%20"):
        reply = status(host, iid, query)
        assert reply.status == 200 and reply.json["output"] == "Hello Tokyo!", (query, reply.text)


def test_another_hub_is_read_as_that_hub_where_the_apps_instances_are_not(host):
    # HttpApiHandler.GetClient hands the request to a client of the task hub it names, which reads that
    # hub's storage: the app's instances and entities are not there (404, an empty list); an operation on
    # an instance finds none (404), a restart none either (the extension's ArgumentException: 400).
    iid = start_raw(host, "wait_for_go").json["id"]
    call("POST", f"{host.base_url}{WEBHOOK}/entities/counter/k?op=add")
    host.wait_until_idle()
    other = "?taskHub=SomeOtherHub"
    missing = status(host, iid, other)
    assert missing.status == 404 and "SomeOtherHub" in missing.json["Message"]
    listed = call("GET", f"{host.base_url}{WEBHOOK}/instances{other}")
    assert listed.status == 200 and listed.json == []
    for path in (f"instances/{iid}/raiseEvent/Go", f"instances/{iid}/terminate", f"instances/{iid}/suspend"):
        assert call("POST", f"{host.base_url}{WEBHOOK}/{path}{other}", "x").status == 404, path
    assert call("DELETE", f"{host.base_url}{WEBHOOK}/instances/{iid}{other}").status == 404
    assert call("GET", f"{host.base_url}{WEBHOOK}/entities/counter/k{other}").status == 404
    assert call("GET", f"{host.base_url}{WEBHOOK}/entities{other}").json == []
    # Nothing of the app's hub changed: the instance still waits for its event.
    assert status(host, iid).json["runtimeStatus"] == "Running"
    assert call("GET", f"{host.base_url}{WEBHOOK}/entities/counter/k").json == 1
    call("POST", f"{host.base_url}{WEBHOOK}/instances/{iid}/raiseEvent/Go", "done")
    assert finished(host, iid)["output"] == "done"


def test_starting_or_signalling_in_another_hub_is_refused_naming_both_hubs(host):
    # The extension would write the new instance or the signal to the other hub's storage, for the app
    # that serves that hub; devhost holds no other hub to keep it in, and says so (501) rather than
    # answer 202 for work that nothing would ever see.
    started = call("POST", f"{host.base_url}{WEBHOOK}/orchestrators/greet?taskHub=SomeOtherHub")
    assert (
        started.status == 501 and "SomeOtherHub" in started.json["Message"] and HUB in started.json["Message"]
    )
    signalled = call("POST", f"{host.base_url}{WEBHOOK}/entities/counter/k?op=add&taskHub=SomeOtherHub")
    assert signalled.status == 501
    listed = call("GET", f"{host.base_url}{WEBHOOK}/instances?taskHub=SomeOtherHub")
    assert listed.json == []


def test_the_scheduler_provider_is_named_at_start_up_as_not_used(tmp_path):
    # The Durable Task Scheduler template names storageProvider type azureManaged: the extension would
    # keep the task hub in the scheduler its connection string names. devhost keeps it in its own store
    # and says so in one line, rather than ignore the setting without a word. `python -m devhost` as the
    # user runs it: the hub name resolves from local.settings.json there too.
    process = DevHostProcess(APP, tmp_path / "state.sqlite").start()
    try:
        assert start_raw(process, "greet").status == 202
    finally:
        process.stop()
    log = process.log_path.read_text()
    lines = [line for line in log.splitlines() if "storageProvider" in line]
    assert len(lines) == 1, log
    assert "azureManaged (the Durable Task Scheduler)" in lines[0] and "its own store instead" in lines[0]
    assert "DURABLE_TASK_SCHEDULER_CONNECTION_STRING" in lines[0]
    assert "\tgreet: orchestrationTrigger" in log  # the banner: the host started
