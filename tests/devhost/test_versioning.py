"""Orchestration versioning: host.json defaultVersion / versionMatchStrategy / versionFailureStrategy,
versions on start (SDK client and webhook), sub-orchestrations, continue-as-new, context.version."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.config.errors import DevHostError
from devhost.config.host_settings import load_host_json
from devhost.durable.orchestration_versions import compare_versions
from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS, call, finished, start, start_raw, status

APP = APPS / "versioning"


def app_copy(tmp_path: Path, **durable: Any) -> Path:
    """The versioning app in ``tmp_path`` with these extensions.durableTask settings."""
    target = tmp_path / "app"
    if not target.exists():
        shutil.copytree(APP, target, ignore=shutil.ignore_patterns("__pycache__"))
    write_durable(target, **durable)
    return target


def write_durable(app: Path, **durable: Any) -> None:
    settings = {"hubName": "VersionHub", **durable}
    host_json = {"version": "2.0", "extensions": {"durableTask": settings}}
    (app / "host.json").write_text(json.dumps(host_json))


def start_v(host: DevHostHandle, name: str, version: str | None = None) -> str:
    query = f"?version={version}" if version is not None else ""
    reply = call("POST", f"{host.api_url}/start/{name}{query}")
    assert reply.status == 202, reply.text
    return reply.json["id"]


def raise_event(host: DevHostHandle, iid: str, name: str) -> None:
    url = f"{host.base_url}/runtime/webhooks/durabletask/instances/{iid}/raiseEvent/{name}"
    assert call("POST", url, raw=b"null").status == 202  # the extension takes one JSON value, not none


def started_event(host: DevHostHandle, iid: str) -> dict[str, Any]:
    assert host.host.task_hub is not None
    history = host.host.task_hub.history(iid)
    return next(e for e in history if e["EventType"] == 0)


@pytest.fixture(scope="module")
def versioned() -> Iterator[DevHostHandle]:
    with run_devhost(APP) as host:
        yield host


# ---- the SDK sample's scenario -------------------------------------------------------------


def test_sample_outputs_with_default_version(versioned: DevHostHandle) -> None:
    iid = start(versioned, "deployable")
    versioned.wait_until_idle()
    assert status(versioned, iid).json["customStatus"] == "waiting for Proceed"
    raise_event(versioned, iid, "Proceed")
    done = finished(versioned, iid)
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == [
        "Orchestration version: 1.0",
        "Suborchestration version: 1.0",
        "Hello from the old path!",
    ]
    assert started_event(versioned, iid)["Version"] == "1.0"


def test_sample_redeploy_with_new_default_version(tmp_path: Path) -> None:
    """Start on 1.0, stop, deploy defaultVersion 2.0, continue: the instance keeps 1.0 (and its old path),
    the sub-orchestration created after the change gets 2.0; a new instance takes the new path."""
    app = app_copy(tmp_path, defaultVersion="1.0")
    state = tmp_path / "state" / "devhost.db"
    with run_devhost(app, state=state) as host:
        old = start(host, "deployable")
        host.wait_until_idle()
        assert status(host, old).json["customStatus"] == "waiting for Proceed"
    write_durable(app, defaultVersion="2.0")
    with run_devhost(app, state=state) as host:
        raise_event(host, old, "Proceed")
        assert finished(host, old)["output"] == [
            "Orchestration version: 1.0",
            "Suborchestration version: 2.0",
            "Hello from the old path!",
        ]
        new = start(host, "deployable")
        host.wait_until_idle()
        raise_event(host, new, "Proceed")
        assert finished(host, new)["output"] == [
            "Orchestration version: 2.0",
            "Suborchestration version: 2.0",
            "Hello from the new path!",
        ]


# ---- versions on start, sub-orchestrations, continue-as-new ----------------------------------


def test_explicit_version_from_sdk_client_and_webhook(versioned: DevHostHandle) -> None:
    iid = start_v(versioned, "version_of", "0.9")
    assert finished(versioned, iid)["output"] == "0.9"
    assert started_event(versioned, iid)["Version"] == "0.9"
    reply = call(
        "POST", f"{versioned.base_url}/runtime/webhooks/durabletask/orchestrators/version_of?version=0.3"
    )
    assert reply.status == 202, reply.text
    assert finished(versioned, reply.json["id"])["output"] == "0.3"
    plain = start_raw(versioned, "version_of")
    assert finished(versioned, plain.json["id"])["output"] == "1.0"  # none asked for: defaultVersion


def test_sub_orchestrations_with_and_without_version(versioned: DevHostHandle) -> None:
    iid = start_v(versioned, "children", "0.8")
    done = finished(versioned, iid)
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == {"own": "0.8", "implicit": "1.0", "explicit": "0.5", "retry": "0.7"}
    assert started_event(versioned, f"{iid}:1")["Version"] == "0.5"


def test_continue_as_new_keeps_the_version(versioned: DevHostHandle) -> None:
    iid = start_v(versioned, "renewing", "0.2")
    done = finished(versioned, iid)
    assert done["output"] == ["0.2", "0.2", "0.2"]
    assert started_event(versioned, iid)["Version"] == "0.2"


# ---- matching and failure strategies ---------------------------------------------------------


def test_newer_version_is_rejected_and_runs_after_an_upgrade(tmp_path: Path) -> None:
    """CurrentOrOlder + Reject (the defaults): a newer instance stays Pending, untouched, until a host
    whose defaultVersion is at least its version runs it."""
    app = app_copy(tmp_path, defaultVersion="1.0")
    state = tmp_path / "state" / "devhost.db"
    with run_devhost(app, state=state) as host:
        newer = start_v(host, "version_of", "1.1")
        older = start_v(host, "version_of", "0.10")
        host.wait_until_idle()
        assert finished(host, older)["output"] == "0.10"
        pending = status(host, newer)
        assert pending.status == 202 and pending.json["runtimeStatus"] == "Pending"
        raise_event(host, newer, "Nudge")  # a new message is offered again, and rejected again
        host.wait_until_idle()
        assert status(host, newer).json["runtimeStatus"] == "Pending"
    write_durable(app, defaultVersion="1.1")
    with run_devhost(app, state=state) as host:
        assert finished(host, newer)["output"] == "1.1"


def test_fail_strategy_fails_the_mismatched_instance(tmp_path: Path) -> None:
    app = app_copy(
        tmp_path, defaultVersion="2.0", versionMatchStrategy="Strict", versionFailureStrategy="Fail"
    )
    with run_devhost(app) as host:
        iid = start_v(host, "version_of", "1.0")
        done = finished(host, iid)
        assert done["runtimeStatus"] == "Failed"
        assert "Orchestration version did not comply with Worker Versioning" in json.dumps(done["output"])
        ok = start_v(host, "version_of")
        assert finished(host, ok)["output"] == "2.0"


def test_fail_strategy_spares_matching_versions(tmp_path: Path) -> None:
    app = app_copy(tmp_path, defaultVersion="1.0", versionFailureStrategy="Fail")
    with run_devhost(app) as host:
        iid = start_v(host, "children", "0.1")
        host.wait_until_idle()
        # every child runs (they are no newer than 1.0): the parent completes
        assert finished(host, iid)["runtimeStatus"] == "Completed"
        newer = start_v(host, "renewing", "3")
        assert finished(host, newer)["runtimeStatus"] == "Failed"


def test_none_strategy_runs_every_version(tmp_path: Path) -> None:
    app = app_copy(tmp_path, versionMatchStrategy="None")
    with run_devhost(app) as host:
        iid = start_v(host, "version_of", "9.9")
        assert finished(host, iid)["output"] == "9.9"
        plain = start_v(host, "version_of")
        assert finished(host, plain)["output"] is None  # no defaultVersion: no version


def test_no_default_version_rejects_versioned_instances(tmp_path: Path) -> None:
    """As DTFx: without defaultVersion the host's version is empty, older than any version."""
    app = app_copy(tmp_path)
    with run_devhost(app) as host:
        iid = start_v(host, "version_of", "1.0")
        plain = start_v(host, "version_of")
        assert finished(host, plain)["output"] is None
        assert status(host, iid).json["runtimeStatus"] == "Pending"


# ---- comparison and settings -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [
        ("1.0.0", "1.0.0", 0),
        ("1.1.0", "1.0.0", 1),
        ("1.0.0", "1.1.0", -1),
        ("1", "1", 0),
        ("2", "1", 1),
        ("", "1", -1),
        ("1", "", 1),
        (None, "", 0),
        ("1.10", "1.9", 1),  # System.Version: by number
        ("10", "9", -1),  # one part is not a System.Version: text
        ("1.0.0", "1.0", 1),  # an absent part is older than 0
        ("v2", "V2", 0),  # text compares without case
        ("2025-01-02", "2025-01-10", -1),
    ],
)
def test_compare_versions(a: str | None, b: str | None, sign: int) -> None:
    result = compare_versions(a, b)
    assert (result > 0) - (result < 0) == sign


def test_host_json_versioning_settings(tmp_path: Path) -> None:
    def load(**durable: Any) -> Any:
        (tmp_path / "host.json").write_text(json.dumps({"extensions": {"durableTask": durable}}))
        return load_host_json(tmp_path)

    defaults = load()
    assert (defaults.default_version, defaults.version_match_strategy, defaults.version_failure_strategy) == (
        None,
        "CurrentOrOlder",
        "Reject",
    )
    s = load(defaultVersion="2.1", versionMatchStrategy="strict", versionFailureStrategy="FAIL")
    assert (s.default_version, s.version_match_strategy, s.version_failure_strategy) == (
        "2.1",
        "Strict",
        "Fail",
    )
    assert load(defaultVersion=3, versionMatchStrategy=0).version_match_strategy == "None"
    assert load(defaultVersion=3).default_version == "3"
    assert load(defaultVersion="").default_version is None
    with pytest.raises(DevHostError, match="versionMatchStrategy"):
        load(versionMatchStrategy="Newest")
    with pytest.raises(DevHostError, match="versionFailureStrategy"):
        load(versionFailureStrategy="Ignore")
    with pytest.raises(DevHostError, match="defaultVersion"):
        load(defaultVersion=["1"])
