"""Links are built from configuration, never from the request's Host header; cross-site browser
requests are recognised by their Origin."""

from __future__ import annotations

import azure.functions as func
import pytest

from engine.functions.http_params import api_base as _api_base
from engine.functions.public_url import HOSTNAME, PUBLIC_BASE_URL, is_cross_origin, public_origin, rebased


def request(url: str, **headers: str) -> func.HttpRequest:
    return func.HttpRequest(method="POST", url=url, headers=headers, body=b"{}")


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PUBLIC_BASE_URL, raising=False)
    monkeypatch.delenv(HOSTNAME, raising=False)


def test_the_platform_hostname_wins_over_the_host_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOSTNAME, "my-app.azurewebsites.net")
    forged = request("http://evil.example/api/workflows/x/runs/1", host="evil.example")
    assert public_origin(forged) == "https://my-app.azurewebsites.net"
    assert _api_base(forged, "workflows") == "https://my-app.azurewebsites.net/api"


def test_a_configured_public_base_url_wins_over_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOSTNAME, "my-app.azurewebsites.net")
    monkeypatch.setenv(PUBLIC_BASE_URL, "https://approvals.contoso.com/")
    assert public_origin(request("http://evil.example/api/runs")) == "https://approvals.contoso.com"


def test_loopback_hostnames_are_http_and_unset_means_the_requests_own_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert public_origin(request("http://127.0.0.1:7071/api/runs")) == "http://127.0.0.1:7071"
    monkeypatch.setenv(HOSTNAME, "localhost:7071")
    assert public_origin(request("http://127.0.0.1:7071/api/runs")) == "http://localhost:7071"
    assert (
        rebased("http://evil.example/api/x?a=1", "http://localhost:7071") == "http://localhost:7071/api/x?a=1"
    )


def test_cross_origin_is_an_origin_that_is_neither_ours_nor_the_addressed_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(HOSTNAME, "localhost:7071")
    url = "http://127.0.0.1:7071/api/workflows/x"
    assert not is_cross_origin(request(url))  # curl, servers: no Origin
    assert not is_cross_origin(request(url, origin="http://127.0.0.1:7071"))  # the dashboard, as loaded
    assert not is_cross_origin(request(url, origin="http://localhost:7071"))
    assert is_cross_origin(request(url, origin="https://evil.example"))
    assert is_cross_origin(request(url, origin="null"))  # a sandboxed page or a file
