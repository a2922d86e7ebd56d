"""The x-ms-client-principal header is believed only when the app trusts Easy Auth AND the platform has
App Service authentication on; a forged header never names a caller, a viewer or an approver."""

from __future__ import annotations

import base64
import json
import logging

import azure.functions as func
import pytest

from engine.functions import identity
from engine.functions.identity import (
    approver,
    check_identity_settings,
    verified_caller,
    verified_viewer,
)
from engine.functions.settings import ENTRA_SETTINGS, PLATFORM_AUTH_ENABLED, TRUST_EASY_AUTH


def principal(name: str | None, roles: tuple[str, ...] = ()) -> str:
    claims = [*([{"typ": "name", "val": name}] if name else []), *({"typ": "roles", "val": r} for r in roles)]
    data = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims}
    return base64.b64encode(json.dumps(data).encode()).decode()


FORGED = {"x-ms-client-principal": principal("ceo", ("finance",))}


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (TRUST_EASY_AUTH, PLATFORM_AUTH_ENABLED, *ENTRA_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    identity._warned.clear()  # each test sees its own "warn once"


def trusting(monkeypatch: pytest.MonkeyPatch, *, app: bool, platform: bool) -> None:
    if app:
        monkeypatch.setenv(TRUST_EASY_AUTH, "true")
    if platform:
        monkeypatch.setenv(PLATFORM_AUTH_ENABLED, "True")  # as the platform writes it


@pytest.mark.parametrize(("app", "platform"), [(False, False), (False, True), (True, False)])
def test_a_forged_principal_is_ignored_without_both_settings(
    monkeypatch: pytest.MonkeyPatch, app: bool, platform: bool
) -> None:
    trusting(monkeypatch, app=app, platform=platform)
    caller = verified_caller(FORGED)
    assert caller.name is None and caller.roles == frozenset() and caller.source == "anonymous"
    assert not caller.is_one_of(["ceo"]) and not caller.is_one_of(["finance"])
    # The run view's respond links are issued to the viewer: never to "ceo" on a forged header.
    assert verified_viewer(FORGED).name is None


def test_the_principal_is_trusted_with_both_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    trusting(monkeypatch, app=True, platform=True)
    caller = verified_caller(FORGED)
    assert caller.name == "ceo" and caller.roles == {"finance"} and caller.source == "easy-auth"
    assert caller.is_one_of(["finance"])
    assert verified_viewer(FORGED).name == "ceo"


def test_the_principal_shapes_the_platform_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    trusting(monkeypatch, app=True, platform=True)
    swa = {"userDetails": "bob@contoso.example", "userRoles": ["anonymous", "authenticated", "ops"]}
    header = base64.b64encode(json.dumps(swa).encode()).decode()
    caller = verified_caller({"X-MS-CLIENT-PRINCIPAL": header})  # any header case
    assert caller.name == "bob@contoso.example" and "ops" in caller.roles
    assert verified_caller({"x-ms-client-principal": "not base64 json"}).source == "anonymous"
    assert verified_caller({}).source == "anonymous"


def test_the_functions_request_headers_work(monkeypatch: pytest.MonkeyPatch) -> None:
    trusting(monkeypatch, app=True, platform=True)
    req = func.HttpRequest("GET", "http://localhost/api/x", headers=FORGED, body=b"")
    assert verified_caller(req.headers).name == "ceo"


def test_app_setting_without_the_platform_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    trusting(monkeypatch, app=True, platform=False)
    with caplog.at_level(logging.WARNING, logger="engine.identity"):
        assert verified_caller(FORGED).name is None
        assert verified_caller(FORGED).name is None
        assert verified_caller({}).name is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert TRUST_EASY_AUTH in warnings[0].getMessage() and PLATFORM_AUTH_ENABLED in warnings[0].getMessage()


def test_the_platform_without_the_app_setting_warns_once_when_a_principal_arrives(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    trusting(monkeypatch, app=False, platform=True)
    with caplog.at_level(logging.WARNING, logger="engine.identity"):
        assert verified_caller({}).name is None
        assert caplog.records == []
        assert verified_caller(FORGED).name is None
        assert verified_caller(FORGED).name is None
    assert len(caplog.records) == 1 and TRUST_EASY_AUTH in caplog.records[0].getMessage()


def test_nothing_is_logged_when_nothing_is_configured(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="engine.identity"):
        assert verified_caller(FORGED).name is None
        check_identity_settings()
    assert caplog.records == []


def test_check_identity_settings_says_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    trusting(monkeypatch, app=True, platform=False)
    monkeypatch.setenv("ENTRA_OPENID_CONFIGURATION_URL", "https://login.microsoftonline.com/t/v2.0/x")
    with caplog.at_level(logging.WARNING, logger="engine.identity"):
        check_identity_settings()
    levels = sorted(r.levelno for r in caplog.records)
    assert levels == [logging.WARNING, logging.ERROR]
    assert "ENTRA_AUDIENCE" in caplog.text and TRUST_EASY_AUTH in caplog.text


def test_approver_takes_the_link_subject_only_for_an_anonymous_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Easy Auth off: a forged header does not beat the subject of a signed link, nor replace it.
    linked = approver(FORGED, "alice")
    assert linked.name == "alice" and linked.roles == frozenset() and linked.source == "approval-link"
    assert approver(FORGED, None).name is None
    assert approver({}, "").source == "anonymous"
    # Easy Auth trusted: the verified caller answers, whoever the link was issued to.
    trusting(monkeypatch, app=True, platform=True)
    assert approver(FORGED, "alice").name == "ceo"
    roles_only = {"x-ms-client-principal": principal(None, ("finance",))}
    assert approver(roles_only, "alice") == identity.Caller(
        name=None, roles=frozenset({"finance"}), source="easy-auth"
    )
