"""HTTP functions: route templates, methods, prefix, request/response shapes, errors, keys."""

from __future__ import annotations

import os

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from devhost.http.http_routes import RouteTable
from devhost.http.http_server import HttpServer
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
    assert reply.headers["Content-Type"].startswith("application/json")
    assert "'boom' raised an exception" in reply.json["error"]


def _json_error(reply, status: int) -> str:
    assert reply.status == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json"), reply.headers
    return reply.json["error"]


def test_no_function_for_the_path_is_a_json_404_naming_it(routes):
    for path in ("/nothing-here", "/items/%0A", "/secret%0A", "/files%0A", "/%0A"):
        error = _json_error(call("GET", f"{routes.api_url}{path}"), 404)
        assert error == f"No HTTP function matches GET /v1{path.replace('%0A', chr(10))}."
    error = _json_error(call("GET", f"{routes.base_url}/api/items/1"), 404)  # wrong prefix
    assert "GET /api/items/1" in error


def test_a_method_not_allowed_is_a_json_405_naming_the_allowed_ones(routes):
    reply = call("PUT", f"{routes.api_url}/items")
    assert "PUT /v1/items" in _json_error(reply, 405) and "accepts POST" in reply.json["error"]
    assert reply.headers["Allow"] == "POST"
    reply = call("DELETE", f"{routes.api_url}/items/42")
    assert "accepts GET" in _json_error(reply, 405)


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
        assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
        url = f"{host.api_url}/secret"
        assert call("GET", url).status == 401
        assert "'secret' needs a function or master key" in call("GET", url).json["error"]
        assert call("GET", f"{url}?code=wrong").status == 401
        # Keys that are not ASCII (or not even UTF-8) are wrong keys, not a failure of the host.
        for wrong in ("%C3%A9", "%ED%A0%80", "%FF", "%0A%01"):
            assert call("GET", f"{url}?code={wrong}").status == 401, wrong
        utf8_header = "\u00e9".encode().decode("latin-1")  # urllib sends a header's str as latin-1
        assert call("GET", url, headers={"x-functions-key": utf8_header}).status == 401
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


async def test_errors_devhost_did_not_expect_are_json_too():
    server = HttpServer(RouteTable("api"), None, None, lambda: "{}", None)  # type: ignore[arg-type]

    async def broken(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/bad"):
            raise web.HTTPBadRequest()
        raise RuntimeError("secret internal detail")

    server._route = broken  # type: ignore[method-assign]
    async with TestClient(TestServer(server.app)) as client:
        for path, status in (("/api/x", 500), ("/api/bad", 400)):
            reply = await client.get(path)
            assert reply.status == status and reply.content_type == "application/json"
            body = await reply.json()
            assert f"GET {path}" in body["error"] and "secret" not in body["error"]
