"""HTTP functions: route templates, methods, prefix, request/response shapes, errors, keys."""

from __future__ import annotations

import os

import pytest

from devhost.testing import run_devhost
from tests.devhost.helpers import APPS, call


@pytest.fixture(scope="module")
def routes():
    os.environ["ROUTES_OVERRIDDEN"] = "from-environment"
    try:
        with run_devhost(APPS / "http_routes", settings={"EXTRA_SETTING": "extra"}) as host:
            yield host
    finally:
        os.environ.pop("ROUTES_OVERRIDDEN", None)


def test_api_url_uses_route_prefix(routes):
    assert routes.api_url == routes.base_url + "/v1"


def test_typed_and_optional_and_catch_all_routes(routes):
    assert call("GET", f"{routes.api_url}/items/42?q=z").json == {"id": "42", "q": "z"}
    assert call("GET", f"{routes.api_url}/items/abc").text == "name=abc"
    assert call("GET", f"{routes.api_url}/items/ab1").status == 404  # neither int nor alpha
    assert call("GET", f"{routes.api_url}/opt").text == "x=None|GET"
    assert call("DELETE", f"{routes.api_url}/opt/7").text == "x=7|DELETE"
    assert call("GET", f"{routes.api_url}/files/a/b/c.txt").text == "rest=a/b/c.txt"


def test_methods_404_405_and_body(routes):
    created = call("POST", f"{routes.api_url}/items", {"a": 1})
    assert created.status == 201
    assert created.json == {"got": {"a": 1}, "fn": "create_item", "ct": "application/json"}
    assert call("PUT", f"{routes.api_url}/items").status == 405
    assert call("GET", f"{routes.api_url}/nothing-here").status == 404
    assert call("GET", f"{routes.base_url}/api/items/1").status == 404  # wrong prefix


def test_exception_is_500_without_details(routes):
    reply = call("GET", f"{routes.api_url}/boom")
    assert reply.status == 500
    assert "secret internal detail" not in reply.text


def test_auth_levels_not_enforced_by_default(routes):
    assert call("GET", f"{routes.api_url}/secret").status == 200
    assert call("GET", f"{routes.api_url}/admin-only").status == 200


def test_settings_do_not_override_environment(routes):
    assert call("GET", f"{routes.api_url}/env?key=ROUTES_SETTING").text == "local"
    assert call("GET", f"{routes.api_url}/env?key=ROUTES_OVERRIDDEN").text == "from-environment"
    assert call("GET", f"{routes.api_url}/env?key=EXTRA_SETTING").text == "extra"


def test_settings_are_restored_after_the_host_stops(routes):
    assert os.environ.get("ROUTES_SETTING") == "local"  # set while the host runs


def test_require_keys(tmp_path):
    with run_devhost(
        APPS / "http_routes", state=tmp_path / "s.sqlite", in_memory=False, require_keys=True
    ) as host:
        keys = host.host.keys
        assert keys is not None
        assert (tmp_path / "keys.json").exists()
        url = f"{host.api_url}/secret"
        assert call("GET", url).status == 401
        assert call("GET", f"{url}?code=wrong").status == 401
        assert call("GET", f"{url}?code={keys.function}").status == 200
        assert call("GET", url, headers={"x-functions-key": keys.master}).status == 200
        admin = f"{host.api_url}/admin-only"
        assert call("GET", f"{admin}?code={keys.function}").status == 401
        assert call("GET", f"{admin}?code={keys.master}").status == 200
        assert call("GET", f"{host.api_url}/items/1").status == 200  # anonymous
        mgmt = f"{host.base_url}/runtime/webhooks/durabletask/instances"
        assert call("GET", mgmt).status == 401
        assert call("GET", f"{mgmt}?code={keys.durable}").status == 200
    assert "ROUTES_SETTING" not in os.environ or os.environ["ROUTES_SETTING"] == "local"
