"""Easy Auth is not there locally: client-sent x-ms-client-principal* headers are removed unless the local
simulation is on (DEVHOST_SIMULATE_EASY_AUTH, --simulate-easy-auth), which trusts them and sets
WEBSITE_AUTH_ENABLED=true; WEBSITE_HOSTNAME is set as the Functions host sets it."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from devhost.config.errors import DevHostError
from devhost.http.easy_auth import AUTH_ENABLED, SETTING
from devhost.testing import DevHostProcess, run_devhost
from tests.devhost.helpers import APPS, call

APP = APPS / "http_routes"
CLAIMED = {
    "x-ms-client-principal": base64.b64encode(
        json.dumps({"auth_typ": "aad", "claims": [{"typ": "name", "val": "mallory"}]}).encode()
    ).decode(),
    "x-ms-client-principal-name": "mallory",
    "x-ms-client-principal-id": "00000000-0000-0000-0000-000000000001",
    "x-ms-client-principal-idp": "aad",
    "X-MS-TOKEN-AAD-ID-TOKEN": "forged",
}
PLATFORM_ONLY = ("x-ms-client-principal", "x-ms-token-")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (SETTING, AUTH_ENABLED, "WEBSITE_HOSTNAME", "APPROVAL_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)


def seen_headers(base_url: str) -> dict[str, str]:
    reply = call("GET", f"{base_url}/headers", headers={**CLAIMED, "x-other": "kept"})
    assert reply.status == 200, reply.text
    return reply.json["headers"]


def setting(base_url: str, name: str) -> str:
    return call("GET", f"{base_url}/env?key={name}").text


def app_with_settings(tmp_path: Path, values: dict[str, str]) -> Path:
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    settings = json.loads((APP / "local.settings.json").read_text())
    settings["Values"].update(values)
    (app / "local.settings.json").write_text(json.dumps(settings))
    return app


def test_client_sent_principal_headers_are_removed_by_default():
    with run_devhost(APP) as host:
        seen = seen_headers(host.api_url)
        assert not [name for name in seen if name.startswith(PLATFORM_ONLY)], seen
        assert seen["x-other"] == "kept"
        assert setting(host.api_url, AUTH_ENABLED) == "<unset>"


def test_the_simulation_from_local_settings_trusts_the_headers_and_sets_website_auth_enabled(tmp_path):
    app = app_with_settings(tmp_path, {SETTING: "true"})
    with run_devhost(app, simulate_easy_auth=None) as host:
        seen = seen_headers(host.api_url)
        assert {k.lower(): v for k, v in CLAIMED.items()}.items() <= seen.items()
        assert setting(host.api_url, AUTH_ENABLED) == "true"
    assert SETTING not in os.environ and AUTH_ENABLED not in os.environ


def test_the_simulation_from_the_environment_and_false_values(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv(SETTING, "TRUE")
    with run_devhost(APP, simulate_easy_auth=None) as host:
        assert seen_headers(host.api_url)["x-ms-client-principal-name"] == "mallory"
    monkeypatch.setenv(SETTING, "false")
    with run_devhost(APP, simulate_easy_auth=None) as host:
        assert "x-ms-client-principal-name" not in seen_headers(host.api_url)
    # WEBSITE_AUTH_ENABLED in the settings is not the simulation: nobody vouches for the headers.
    app = app_with_settings(tmp_path, {AUTH_ENABLED: "true"})
    monkeypatch.delenv(SETTING)
    with run_devhost(app, simulate_easy_auth=None) as host:
        assert "x-ms-client-principal" not in seen_headers(host.api_url)


def test_a_setting_that_is_not_a_boolean_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(SETTING, "maybe")
    with pytest.raises(DevHostError, match=f"{SETTING} must be true or false, got 'maybe'"):  # noqa: SIM117
        with run_devhost(APP, simulate_easy_auth=None):
            pass
    assert AUTH_ENABLED not in os.environ


def test_the_cli_removes_them_and_its_flag_simulates_with_one_warning(tmp_path):
    plain = DevHostProcess(APP, tmp_path / "plain.sqlite").start()
    try:
        seen = seen_headers(f"{plain.base_url}/v1")
        assert not [name for name in seen if name.startswith(PLATFORM_ONLY)], seen
    finally:
        plain.stop()
    assert "Easy Auth is SIMULATED" not in plain.log_path.read_text()
    simulated = DevHostProcess(APP, tmp_path / "sim.sqlite", extra_args=["--simulate-easy-auth"]).start()
    try:
        assert seen_headers(f"{simulated.base_url}/v1")["x-ms-client-principal-name"] == "mallory"
        assert setting(f"{simulated.base_url}/v1", AUTH_ENABLED) == "true"
    finally:
        simulated.stop()
    warnings = [
        line for line in simulated.log_path.read_text().splitlines() if "Easy Auth is SIMULATED" in line
    ]
    assert len(warnings) == 1 and SETTING in warnings[0]


def test_website_hostname_is_set_for_the_app_unless_the_settings_set_it():
    # The host provides WEBSITE_HOSTNAME (App Service sets it; Core Tools sets localhost:<port>), and the
    # Durable extension builds its webhook URLs from it (HttpApiHandler.GetWebhookUri: "Webhooks are not
    # configured ... if the environment variable WEBSITE_HOSTNAME is not set").
    with run_devhost(APP) as host:
        assert setting(host.api_url, "WEBSITE_HOSTNAME") == f"localhost:{host.host.port}"
        # One origin: what the app builds links from is devhost's own base URL, as with `func start`.
        assert host.base_url == f"http://localhost:{host.host.port}"
        assert json.loads(host.host.client_binding())["baseUrl"].startswith(host.base_url + "/")
    assert "WEBSITE_HOSTNAME" not in os.environ
    with run_devhost(APP, settings={"WEBSITE_HOSTNAME": "myapp.azurewebsites.net"}) as host:
        assert setting(host.api_url, "WEBSITE_HOSTNAME") == "myapp.azurewebsites.net"


def test_a_subprocess_host_does_not_inherit_what_an_in_process_host_provided(tmp_path):
    """WEBSITE_HOSTNAME and WEBSITE_AUTH_ENABLED are the running host's own: a DevHostProcess started
    meanwhile provides its own (or its app would link to the other host). (The kept signing key, which
    only an app serving workflows gets: test_signing_key.py.)"""
    (tmp_path / "in-process").mkdir()
    (tmp_path / "subprocess").mkdir()
    with run_devhost(APP, state=tmp_path / "in-process" / "state.sqlite", simulate_easy_auth=True):
        assert os.environ["WEBSITE_HOSTNAME"] and os.environ[AUTH_ENABLED] == "true"
        proc = DevHostProcess(APP, tmp_path / "subprocess" / "state.sqlite").start()
        try:
            api = f"{proc.base_url}/v1"
            assert setting(api, "WEBSITE_HOSTNAME") == f"localhost:{proc.port}"
            assert setting(api, AUTH_ENABLED) == "<unset>"
            assert setting(api, "APPROVAL_SIGNING_KEY") == "<unset>"  # this app serves no workflows
            assert setting(api, "ROUTES_SETTING") == "local"  # the app's own settings still apply
        finally:
            proc.stop()
