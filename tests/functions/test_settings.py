"""Start-up checks of the app settings the Functions app layer reads."""

from __future__ import annotations

import logging

import pytest

from engine.functions.settings import ON_AZURE, SIGNING_KEY, check_signing_key


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (SIGNING_KEY, *ON_AZURE):
        monkeypatch.delenv(name, raising=False)


def test_a_missing_signing_key_is_an_error_on_azure(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WEBSITE_SITE_NAME", "my-func-app")
    with caplog.at_level(logging.WARNING, logger="engine.settings"):
        check_signing_key()
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    assert "APPROVAL_SIGNING_KEY is not set" in caplog.text and "on Azure" in caplog.text


def test_a_missing_signing_key_is_a_warning_elsewhere(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="engine.settings"):
        check_signing_key()
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_a_configured_key_says_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(SIGNING_KEY, "a-long-random-string")
    monkeypatch.setenv("WEBSITE_SITE_NAME", "my-func-app")
    with caplog.at_level(logging.WARNING, logger="engine.settings"):
        check_signing_key()
    assert caplog.records == []
