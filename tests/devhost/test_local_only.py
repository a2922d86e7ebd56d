"""devhost serves this machine only: the SDK's durable API on an internal listener (loopback, a port of its
own, a secret path), loopback Host names only, no cross-origin state changes on the management webhooks,
links built from devhost's own base URL, and a paged instance list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS, Reply, call, finished, start_raw, status

WEBHOOK = "/runtime/webhooks/durabletask"
TOKEN = "x-ms-continuation-token"
# What the Python SDK's DurableOrchestrationClient calls (its rpcBaseUrl), as the attack reached it.
SDK_API = [
    ("GET", "/durabletask/instances"),
    ("GET", "/durabletask/instances/{iid}?showHistory=true"),
    ("POST", "/durabletask/instances/{iid}/raiseEvent/Continue"),
    ("POST", "/durabletask/instances/{iid}/terminate?reason=attack"),
    ("POST", "/durabletask/instances/{iid}/suspend?reason=attack"),
    ("DELETE", "/durabletask/instances/{iid}"),
    ("DELETE", "/durabletask/instances?createdTimeFrom=2000-01-01T00:00:00Z&runtimeStatus=Running"),
    ("POST", "/durabletask/orchestrators/waiter"),
    ("POST", "/durabletask/orchestrators/waiter/planted"),
]


def header(reply: Reply, name: str) -> str | None:
    return next((v for k, v in reply.headers.items() if k.lower() == name.lower()), None)


def client(host: DevHostHandle, op: str, arg: str = "") -> object:
    """An operation of the SDK's DurableOrchestrationClient, through the test app."""
    reply = call("POST", f"{host.api_url}/client/{op}/x?arg={arg}")
    assert reply.status == 200, reply.text
    return reply.json


@pytest.fixture(scope="module")
def keyed() -> Iterator[DevHostHandle]:
    with run_devhost(APPS / "durable_basic", require_keys=True) as host:
        yield host


# --- the SDK's durable API ---------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["basic", "keyed"])
def test_nothing_on_the_public_port_answers_the_sdks_durable_api(fixture, request):
    host: DevHostHandle = request.getfixturevalue(fixture)
    iid = f"victim-{fixture}"
    key = f"?code={host.host.keys.durable}" if host.host.keys else ""
    assert start_raw(host, "waiter", None, instance_id=iid + key).status == 202
    host.wait_until_idle()
    for method, path in SDK_API:
        target = host.base_url + path.format(iid=iid)
        reply = call(method, target, {} if method == "POST" else None)
        assert reply.status == 404, f"{method} {path}: {reply.status} {reply.text[:300]}"
        assert "instanceId" not in reply.text and "code=" not in reply.text, reply.text
    host.wait_until_idle()
    still = call("GET", f"{host.base_url}{WEBHOOK}/instances/{iid}{key}")
    assert still.json["runtimeStatus"] == "Running"
    assert call("GET", f"{host.base_url}{WEBHOOK}/instances/planted{key}").status == 404


def test_the_client_binding_points_the_sdk_at_an_internal_loopback_listener(basic):
    binding = json.loads(basic.host.client_binding())
    rpc = urlsplit(binding["rpcBaseUrl"])
    assert rpc.scheme == "http" and rpc.hostname == "127.0.0.1" and rpc.port != basic.host.port
    secret = rpc.path.removeprefix("/durabletask/").strip("/")
    assert rpc.path.startswith("/durabletask/") and len(secret) >= 24, rpc.path
    runner = basic.host._internal_runner
    assert runner is not None and [address[0] for address in runner.addresses] == ["127.0.0.1"]
    # The management URLs stay the public webhooks, as the extension's.
    assert binding["baseUrl"] == basic.base_url + WEBHOOK
    assert binding["managementUrls"]["statusQueryGetUri"].startswith(basic.base_url + WEBHOOK)
    # The SDK client works through it.
    assert start_raw(basic, "waiter", None, instance_id="through-rpc").status == 202
    basic.wait_until_idle()
    assert "through-rpc" in client(basic, "list")  # type: ignore[operator]
    call("POST", f"{basic.api_url}/client/raise/through-rpc?arg=Continue", 7)
    assert finished(basic, "through-rpc")["output"] == "Hello 7!"


def test_the_internal_listener_answers_only_under_its_secret_and_to_no_browser(basic):
    rpc_base = json.loads(basic.host.client_binding())["rpcBaseUrl"]
    origin = rpc_base.split("/durabletask/")[0]
    assert call("GET", rpc_base + "instances").status == 200
    for wrong in (
        "/durabletask/instances",
        "/durabletask/wrong-secret/instances",
        "/",
        WEBHOOK + "/instances",
    ):
        reply = call("GET", origin + wrong)
        assert reply.status == 404 and "instanceId" not in reply.text, (wrong, reply.text)
    page = call("POST", rpc_base + "orchestrators/waiter", raw=b"{}", headers={"Origin": "null"})
    assert page.status == 403 and "browser" in page.json["Message"]
    rebound = call("GET", rpc_base + "instances", headers={"Host": "evil.example"})
    assert rebound.status == 421 and "evil.example" in rebound.json["Message"]
    assert json.dumps(rebound.json).find(rpc_base.split("/durabletask/")[1]) < 0


def test_with_keys_required_the_management_webhooks_need_the_system_key(keyed):
    keys = keyed.host.keys
    assert keys is not None
    base = f"{keyed.base_url}{WEBHOOK}"
    assert start_raw(keyed, "waiter", None, instance_id="keyed-1").status == 401
    assert start_raw(keyed, "waiter", None, instance_id=f"keyed-1?code={keys.function}").status == 401
    assert start_raw(keyed, "waiter", None, instance_id=f"keyed-1?code={keys.durable}").status == 202
    keyed.wait_until_idle()
    assert call("POST", f"{base}/instances/keyed-1/raiseEvent/Continue", 1).status == 401
    assert call("POST", f"{base}/instances/keyed-1/terminate?reason=x").status == 401
    assert call("DELETE", f"{base}/instances/keyed-1").status == 401
    assert call("GET", f"{base}/instances/keyed-1?code={keys.master}").status == 202
    # The app's SDK client needs no key: it calls the internal listener.
    assert "keyed-1" in client(keyed, "list")  # type: ignore[operator]
    raised = call("POST", f"{base}/instances/keyed-1/raiseEvent/Continue?code={keys.durable}", 2)
    assert raised.status == 202
    keyed.wait_until_idle()
    done = call("GET", f"{base}/instances/keyed-1?code={keys.durable}")
    assert done.json["runtimeStatus"] == "Completed"


# --- Host header -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "evil.example",
        "evil.example:7071",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "0.0.0.0",
        "10.0.0.1:7071",
        "localhost:notaport",
        "[::1]x",
    ],
)
def test_a_foreign_host_name_gets_a_json_421_naming_it(basic, value):
    for path in ("/", "/api/client/list/x", f"{WEBHOOK}/instances", "/no/such/path"):
        reply = call("GET", basic.base_url + path, headers={"Host": value})
        assert reply.status == 421, (path, reply.status, reply.text)
        assert value in reply.json["error"] and value in reply.json["Message"]
    planted = call("POST", f"{basic.base_url}{WEBHOOK}/orchestrators/waiter/rebound", headers={"Host": value})
    assert planted.status == 421
    assert status(basic, "rebound").status == 404


def test_this_machines_names_are_accepted_with_or_without_a_port(basic):
    port = basic.host.port
    for value in (
        "localhost",
        f"localhost:{port}",
        "LocalHost",
        "127.0.0.1",
        f"127.0.0.1:{port}",
        "[::1]",
        f"[::1]:{port}",
    ):
        reply = call("GET", f"{basic.base_url}{WEBHOOK}/instances?top=1", headers={"Host": value})
        assert reply.status == 200, (value, reply.text)


def test_links_devhost_builds_use_its_own_base_url_not_the_host_header(basic):
    reply = call(
        "POST", f"{basic.base_url}{WEBHOOK}/orchestrators/waiter/links-1", headers={"Host": "localhost:1"}
    )
    assert reply.status == 202
    own = basic.base_url + WEBHOOK + "/instances/links-1"
    assert header(reply, "Location").startswith(own)  # type: ignore[union-attr]
    for name, url in reply.json.items():
        if name != "id":
            assert url.startswith(own), (name, url)
    # The app builds its links from its request's URL (the SDK's check-status response does): that URL
    # keeps the loopback name the caller used, with devhost's own port.
    port = basic.host.port
    for sent, seen in (
        ("localhost:1", f"localhost:{port}"),
        ("LocalHost", f"localhost:{port}"),
        (f"[::1]:{port}", f"[::1]:{port}"),
        (f"127.0.0.1:{port}", f"127.0.0.1:{port}"),
    ):
        iid = f"links-{len(sent)}-{sent[0]}"
        started = call("POST", f"{basic.api_url}/start/waiter/{iid}", headers={"Host": sent})
        assert started.status == 202
        assert started.json["statusQueryGetUri"].startswith(f"http://{seen}{WEBHOOK}/instances/{iid}?"), sent


# --- cross-origin requests ---------------------------------------------------------------------------


def test_cross_origin_state_changes_on_the_management_api_are_refused(basic):
    port = basic.host.port
    base = f"{basic.base_url}{WEBHOOK}"
    assert start_raw(basic, "waiter", None, instance_id="xo-1").status == 202
    basic.wait_until_idle()
    for origin in (
        "http://evil.example",
        "null",
        f"http://localhost.evil.example:{port}",
        f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}",
        f"https://localhost:{port}",
    ):
        form = {"Origin": origin, "Content-Type": "text/plain"}  # what a form or no-preflight fetch sends
        for method, path in (
            ("POST", "/orchestrators/waiter/xo-planted"),
            ("POST", "/instances/xo-1/raiseEvent/Continue"),
            ("POST", "/instances/xo-1/terminate?reason=attack"),
            ("POST", "/instances/xo-1/suspend?reason=attack"),
            ("POST", "/instances/xo-1/restart"),
            ("DELETE", "/instances/xo-1"),
            ("DELETE", "/instances?runtimeStatus=Running"),
            ("PUT", "/instances/xo-1"),
        ):
            reply = call(method, base + path, raw=b"1" if method != "DELETE" else None, headers=form)
            assert reply.status == 403, (origin, method, path, reply.status, reply.text)
            assert origin in reply.json["Message"]
    basic.wait_until_idle()
    assert status(basic, "xo-planted").status == 404
    assert status(basic, "xo-1").json["runtimeStatus"] == "Running"
    # Reading is no state change; devhost's own origin and scripts (no Origin) may change state.
    assert call("GET", f"{base}/instances/xo-1", headers={"Origin": "http://evil.example"}).status == 202
    own = {"Origin": f"http://localhost:{port}"}
    assert call("POST", f"{base}/instances/xo-1/raiseEvent/Continue", 3, headers=own).status == 202
    assert finished(basic, "xo-1")["output"] == "Hello 3!"
    # The app's own HTTP functions decide for themselves, as on Azure.
    assert (
        call("POST", f"{basic.api_url}/start/waiter/xo-app", headers={"Origin": "http://evil.example"}).status
        == 202
    )


# --- the instance list -------------------------------------------------------------------------------


def test_the_instance_list_is_paged_as_the_extension_pages_it(basic):
    ids = {f"pg-{n:03d}" for n in range(130)}
    for iid in sorted(ids):
        assert start_raw(basic, "waiter", None, instance_id=iid).status == 202
    basic.wait_until_idle(timeout=60)
    url = f"{basic.base_url}{WEBHOOK}/instances?instanceIdPrefix=pg-&showInput=false"
    first = call("GET", url)
    assert first.status == 200 and len(first.json) == 100  # the extension's default page
    token = header(first, TOKEN)
    assert token
    # An instance started between two pages comes later in the list: nothing repeats, nothing is lost.
    assert start_raw(basic, "waiter", None, instance_id="pg-late").status == 202
    seen = [s["instanceId"] for s in first.json]
    while token:
        page = call("GET", url, headers={TOKEN: token})
        assert page.status == 200 and page.json
        seen += [s["instanceId"] for s in page.json]
        token = header(page, TOKEN)
    assert len(seen) == len(set(seen)) and set(seen) == ids | {"pg-late"}
    pages = [call("GET", f"{url}&top=50")]
    while header(pages[-1], TOKEN):
        pages.append(call("GET", f"{url}&top=50", headers={TOKEN: header(pages[-1], TOKEN) or ""}))
    assert [len(p.json) for p in pages] == [50, 50, 31]
    assert call("GET", f"{url}&top=0").status == 400
    # The Python SDK's get_status_all() and get_status_by() send no continuation token: they get everything.
    assert ids <= set(client(basic, "list"))  # type: ignore[arg-type]
    assert ids <= set(client(basic, "list_running"))  # type: ignore[arg-type]
