"""devhost keeps an approval signing key in its state folder, so links signed before a restart are
accepted after it; a key the app settings set wins, and in-memory state keeps none. Only an app that serves
workflows (it indexes the engine's approval-answer verifier) gets a key, a key file and the start-up line:
any other app runs as under `func start`, which knows nothing of approval links."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from devhost.config.approval_signing_key import SETTING, WORKFLOW_ACTIVITY
from devhost.config.host_settings import restore_environment
from devhost.host import load_app
from devhost.testing import DevHostProcess, run_devhost
from tests.devhost.helpers import APPS, call

REPO = Path(__file__).resolve().parents[2]
UNSET = {SETTING: ""}  # as local.settings.json leaves it: empty is unset


def _link(proc: DevHostProcess, item: str) -> str:
    reply = call("GET", f"{proc.base_url}/api/links/{item}")
    assert reply.status == 200, reply.text
    return reply.json["respond_uri"]


def test_a_link_signed_before_a_restart_is_accepted_after_it(tmp_path):
    state = tmp_path / "state.sqlite"
    first = DevHostProcess(APPS / "signed_links", state, settings=UNSET).start()
    try:
        link = _link(first, "item-1")
        assert call("POST", link).status == 202
    finally:
        first.stop()
    key_file = tmp_path / "signing-key"
    key = key_file.read_text()
    assert key_file.stat().st_mode & 0o777 == 0o600 and len(key.strip()) >= 32
    assert f"Approval links are signed with the key kept in {key_file}" in first.log_path.read_text()
    again = DevHostProcess(APPS / "signed_links", state, port=first.port, settings=UNSET).start()
    try:
        assert call("POST", link).status == 202
        assert call("POST", link.replace("token=", "token=0")).status == 403
    finally:
        again.stop()
    assert key_file.read_text() == key  # read again, not made anew


def test_in_memory_state_keeps_no_key_and_links_last_one_process(tmp_path):
    state = tmp_path / "state.sqlite"
    first = DevHostProcess(APPS / "signed_links", state, extra_args=["--in-memory"], settings=UNSET).start()
    try:
        link = _link(first, "item-2")
    finally:
        first.stop()
    assert "a key that lasts this process" in first.log_path.read_text()
    again = DevHostProcess(
        APPS / "signed_links", state, port=first.port, extra_args=["--in-memory"], settings=UNSET
    ).start()
    try:
        assert call("POST", link).status == 403  # what devhost's kept key prevents
    finally:
        again.stop()
    assert not (tmp_path / "signing-key").exists()


def test_a_key_from_the_environment_wins(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(SETTING, "set-by-the-user")
    with run_devhost(APPS / "signed_links", state=tmp_path / "state.sqlite"):
        assert os.environ[SETTING] == "set-by-the-user"
    assert not (tmp_path / "signing-key").exists()


def test_a_key_from_local_settings_wins_and_the_environment_is_restored(tmp_path, monkeypatch):
    monkeypatch.delenv(SETTING, raising=False)
    app = tmp_path / "app"
    shutil.copytree(APPS / "signed_links", app)
    (app / "local.settings.json").write_text(json.dumps({"Values": {SETTING: "from-local-settings"}}))
    loaded = load_app(app, tmp_path / "state")
    try:
        assert os.environ[SETTING] == "from-local-settings"
        assert "the APPROVAL_SIGNING_KEY app setting" in loaded.signing_key_note
    finally:
        restore_environment(loaded.previous_environment)
    assert SETTING not in os.environ and not (tmp_path / "state" / "signing-key").exists()
    (app / "local.settings.json").write_text(json.dumps({"Values": {SETTING: ""}}))
    loaded = load_app(app, tmp_path / "state")
    try:
        kept = (tmp_path / "state" / "signing-key").read_text().strip()
        assert os.environ[SETTING] == kept
    finally:
        restore_environment(loaded.previous_environment)
    assert SETTING not in os.environ


def test_an_approval_link_of_the_workflow_app_outlives_a_restart(tmp_path):
    """The project's own app: a respond link issued for a pending approval, POSTed after a restart."""
    state = tmp_path / "state.sqlite"
    offline = {
        name: ""
        for name in (
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "OPENAI_MODEL",
            "AZURE_OPENAI_ENDPOINT",
            "AZURE_OPENAI_DEPLOYMENT",
            "AZURE_OPENAI_API_VERSION",
            "AZURE_OPENAI_API_KEY",
        )
    }
    settings = {**offline, **UNSET}
    first = DevHostProcess(REPO, state, settings=settings).start()
    try:
        api = f"{first.base_url}/api/workflows"
        started = call("POST", f"{api}/expense_claim", {"employee": "ada", "title": "Travel", "amount": 1250})
        assert started.status == 202, started.text
        run = started.json["runUri"]
        view = call("GET", f"{run}?wait=30").json
        pending = view["pendingApprovals"]
        assert pending, view
        # A respond link is issued on purpose, to a person: its token is signed with the kept key.
        issued = call("POST", pending[0]["links_uri"], {"for": "ada"})
        assert issued.status == 201, issued.text
        link = issued.json["respond_uri"]
        assert "token=" in link
    finally:
        first.stop()
    again = DevHostProcess(REPO, state, port=first.port, settings=settings).start()
    try:
        reply = call("POST", link, {"approved": True})
        assert reply.status == 202, reply.text
    finally:
        again.stop()


def test_devhost_tells_a_workflow_app_by_the_engines_verifier_activity():
    # devhost imports no engine module: it names the engine's activity itself, and this keeps them equal.
    from engine.durable.answers import VERIFY_ACTIVITY

    assert WORKFLOW_ACTIVITY == VERIFY_ACTIVITY


def test_an_app_that_serves_no_workflows_gets_no_key_no_file_and_no_line(tmp_path, monkeypatch):
    # A third-party app (apps/durable_basic, no approval verifier): nothing of this project's approval
    # links reaches it, as with `func start`.
    process = DevHostProcess(APPS / "durable_basic", tmp_path / "state.sqlite", settings=UNSET).start()
    try:
        assert call("POST", f"{process.base_url}/api/start/chaining").status == 202
    finally:
        process.stop()
    assert not (tmp_path / "signing-key").exists()
    log = process.log_path.read_text()
    assert "Approval links" not in log and "signing" not in log.lower(), log
    # In the app's environment the setting stays as the app settings left it (empty, here).
    monkeypatch.setenv(SETTING, "")
    loaded = load_app(APPS / "durable_basic", tmp_path / "state")
    try:
        assert os.environ[SETTING] == "" and loaded.signing_key_note is None
        assert SETTING not in loaded.provided
    finally:
        restore_environment(loaded.previous_environment)
    assert not (tmp_path / "state" / "signing-key").exists()


def test_a_subprocess_host_keeps_a_key_of_its_own(tmp_path, monkeypatch):
    """The key an in-process host keeps is that host's: a DevHostProcess started meanwhile keeps its own
    (inherited, it would sign with the other host's key and keep none)."""
    monkeypatch.delenv(SETTING, raising=False)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with run_devhost(APPS / "signed_links", state=tmp_path / "a" / "state.sqlite") as host:
        in_process = call("GET", f"{host.api_url}/links/x").json["respond_uri"]
        process = DevHostProcess(APPS / "signed_links", tmp_path / "b" / "state.sqlite").start()
        try:
            in_subprocess = _link(process, "x")
        finally:
            process.stop()
    assert (tmp_path / "b" / "signing-key").exists()
    assert in_process.split("token=")[1] != in_subprocess.split("token=")[1]
