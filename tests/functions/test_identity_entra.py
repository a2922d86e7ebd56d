"""Entra ID bearer tokens, validated against a tenant served on a loopback HTTP server: a good token
names the caller; every way a token can be wrong is a 401 with a reason; keys out of reach are a 503."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator

import azure.functions as func
import pytest

from engine.functions import identity
from engine.functions.identity import IdentityError, approver, verified_caller, verified_viewer
from engine.functions.settings import (
    ENTRA_AUDIENCE,
    ENTRA_ISSUER,
    ENTRA_JWKS_URL,
    ENTRA_OPENID_CONFIGURATION_URL,
    ENTRA_SETTINGS,
    PLATFORM_AUTH_ENABLED,
    TRUST_EASY_AUTH,
)
from tests.functions.identity_provider import (
    AUDIENCE,
    ISSUER,
    JWKS_PATH,
    METADATA_PATH,
    IdentityProvider,
    claims_of,
    hs256_with_public_key,
    new_key,
    unsigned_token,
)


@pytest.fixture(scope="module")
def tenant() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.close()


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (TRUST_EASY_AUTH, PLATFORM_AUTH_ENABLED, *ENTRA_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    identity._warned.clear()


@pytest.fixture
def entra(monkeypatch: pytest.MonkeyPatch, tenant: IdentityProvider) -> IdentityProvider:
    """Bearer validation on, configured from the tenant's OpenID metadata."""
    monkeypatch.setenv(ENTRA_OPENID_CONFIGURATION_URL, tenant.metadata_url)
    monkeypatch.setenv(ENTRA_AUDIENCE, AUDIENCE)
    return tenant


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(headers: dict[str, str], status: int = 401) -> IdentityError:
    with pytest.raises(IdentityError) as caught:
        verified_caller(headers)
    assert caught.value.status == status, caught.value.message
    return caught.value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_good_token_names_the_caller_and_their_roles(entra: IdentityProvider) -> None:
    caller = verified_caller(bearer(entra.token()))
    assert caller.name == "alice@contoso.example"
    assert caller.roles == {"finance"} and caller.source == "entra"
    assert caller.is_one_of(["finance"]) and caller.is_one_of(["alice@contoso.example"])
    assert verified_viewer(bearer(entra.token())).name == "alice@contoso.example"
    req = func.HttpRequest("GET", "http://localhost/api/x", headers=bearer(entra.token()), body=b"")
    assert verified_caller(req.headers).name == "alice@contoso.example"


def test_which_claim_names_the_caller(entra: IdentityProvider) -> None:
    # preferred_username wins, then upn (v1 tokens), then name; an application's own token has none.
    assert verified_caller(bearer(entra.token(upn="a@upn.example"))).name == "alice@contoso.example"
    v1 = entra.token(drop=("preferred_username",), upn="a@upn.example")
    assert verified_caller(bearer(v1)).name == "a@upn.example"
    assert verified_caller(bearer(entra.token(drop=("preferred_username",)))).name == "Alice Example"
    app = verified_caller(bearer(entra.token(drop=("preferred_username", "name"), roles=["Approver.All"])))
    assert app.name is None and app.roles == {"Approver.All"} and app.source == "entra"
    no_roles = verified_caller(bearer(entra.token(drop=("roles",), groups=["finance"])))
    assert no_roles.roles == frozenset(), "groups are not roles"


def test_keys_and_metadata_are_fetched_once_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = IdentityProvider()  # its own port, so its own validator whatever ran before
    try:
        monkeypatch.setenv(ENTRA_OPENID_CONFIGURATION_URL, fresh.metadata_url)
        monkeypatch.setenv(ENTRA_AUDIENCE, AUDIENCE)
        for _ in range(5):
            assert verified_caller(bearer(fresh.token())).source == "entra"
        assert fresh.hits[METADATA_PATH] == 1
        assert fresh.hits[JWKS_PATH] == 1
    finally:
        fresh.close()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda t: t.token(aud="api://another-app"), "wrong_audience"),
        (lambda t: t.token(iss="https://login.microsoftonline.com/another-tenant/v2.0"), "wrong_issuer"),
        (lambda t: t.token(exp=int(time.time()) - 3600, nbf=int(time.time()) - 7200), "expired"),
        (lambda t: t.token(nbf=int(time.time()) + 3600), "not_yet_valid"),
        (lambda t: t.token(key=new_key()), "bad_signature"),  # another key, under the tenant's kid
        (lambda t: t.token(kid="a-key-the-tenant-never-published", key=new_key()), "unknown_key"),
        (lambda t: unsigned_token(claims_of(t.token())), "unsupported_algorithm"),
        (lambda t: hs256_with_public_key(t, claims_of(t.token())), "unsupported_algorithm"),
        (lambda t: t.token(algorithm="RS512"), "unsupported_algorithm"),
        (lambda t: t.token(drop=("exp",)), "missing_claim"),
        (lambda t: t.token(drop=("aud",)), "missing_claim"),
        (lambda t: "not.a.jwt", "malformed"),
        (lambda t: t.token()[:-8] + "AAAAAAAA", "bad_signature"),  # tampered signature
    ],
    ids=[
        "wrong-audience",
        "wrong-issuer",
        "expired",
        "not-yet-valid",
        "bad-signature",
        "unknown-kid",
        "alg-none",
        "hs256-with-public-key",
        "rs512",
        "no-exp",
        "no-aud",
        "garbage",
        "tampered",
    ],
)
def test_every_bad_token_is_401_with_a_reason(entra: IdentityProvider, make, reason: str) -> None:
    error = refused(bearer(make(entra)))
    assert error.reason == reason, error.message
    response = error.response()
    assert response.status_code == 401
    assert json.loads(response.get_body()) == {"error": error.message, "reason": reason}
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_a_tampered_payload_is_401(entra: IdentityProvider) -> None:
    header, payload, signature = entra.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["preferred_username"] = "ceo@contoso.example"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refused(bearer(f"{header}.{forged}.{signature}")).reason == "bad_signature"


def test_an_empty_bearer_is_401(entra: IdentityProvider) -> None:
    assert refused({"authorization": "Bearer "}).reason == "malformed"


def test_a_bad_token_is_never_an_anonymous_caller_even_with_easy_auth(
    entra: IdentityProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TRUST_EASY_AUTH, "true")
    monkeypatch.setenv(PLATFORM_AUTH_ENABLED, "true")
    principal = base64.b64encode(json.dumps({"userDetails": "bob", "userRoles": []}).encode()).decode()
    headers = {**bearer(entra.token(aud="api://another-app")), "x-ms-client-principal": principal}
    assert refused(headers).reason == "wrong_audience"
    with pytest.raises(IdentityError):
        approver(headers, "alice")
    # A valid token decides over the principal; without a bearer, the trusted principal counts.
    assert verified_caller({**headers, **bearer(entra.token())}).name == "alice@contoso.example"
    assert verified_caller({"x-ms-client-principal": principal}).name == "bob"


def test_a_bearer_is_not_looked_at_when_validation_is_off(tenant: IdentityProvider) -> None:
    caller = verified_caller(bearer(tenant.token()))
    assert caller.name is None and caller.source == "anonymous"
    assert verified_caller({"Authorization": "Basic dXNlcjpwYXNz"}).source == "anonymous"


def test_jwks_url_and_issuer_instead_of_metadata(
    tenant: IdentityProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENTRA_JWKS_URL, tenant.jwks_url)
    monkeypatch.setenv(ENTRA_ISSUER, f"https://sts.windows.net/x/, {ISSUER}")
    monkeypatch.setenv(ENTRA_AUDIENCE, f"00000000-aaaa-bbbb-cccc-000000000000,{AUDIENCE}")
    assert verified_caller(bearer(tenant.token())).name == "alice@contoso.example"
    v1 = tenant.token(iss="https://sts.windows.net/x/", aud="00000000-aaaa-bbbb-cccc-000000000000")
    assert verified_caller(bearer(v1)).source == "entra"
    assert refused(bearer(tenant.token(iss="https://sts.windows.net/y/"))).reason == "wrong_issuer"


def test_the_key_server_down_is_503(monkeypatch: pytest.MonkeyPatch, tenant: IdentityProvider) -> None:
    monkeypatch.setenv(
        ENTRA_OPENID_CONFIGURATION_URL,
        f"http://127.0.0.1:{free_port()}/t/v2.0/.well-known/openid-configuration",
    )
    monkeypatch.setenv(ENTRA_AUDIENCE, AUDIENCE)
    error = refused(bearer(tenant.token()), status=503)
    assert error.reason == "keys_unavailable"
    response = error.response()
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert json.loads(response.get_body())["reason"] == "keys_unavailable"
    # A caller without a bearer token is not held up by the outage.
    assert verified_caller({}).source == "anonymous"


def test_the_jwks_down_is_503(monkeypatch: pytest.MonkeyPatch, tenant: IdentityProvider) -> None:
    monkeypatch.setenv(ENTRA_JWKS_URL, f"http://127.0.0.1:{free_port()}/keys")
    monkeypatch.setenv(ENTRA_ISSUER, ISSUER)
    monkeypatch.setenv(ENTRA_AUDIENCE, AUDIENCE)
    assert refused(bearer(tenant.token()), status=503).reason == "keys_unavailable"
    # Refused fast for a few seconds (no fetch per request), still a 503.
    assert refused(bearer(tenant.token()), status=503).reason == "keys_unavailable"


def test_a_multi_tenant_metadata_document_is_refused(
    monkeypatch: pytest.MonkeyPatch, tenant: IdentityProvider
) -> None:
    """The 'common' documents name an issuer template; tokens would be checked against nothing."""
    import http.server
    import threading

    class Common(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = json.dumps(
                {"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0", "jwks_uri": tenant.jwks_url}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Common)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv(
            ENTRA_OPENID_CONFIGURATION_URL, f"http://127.0.0.1:{server.server_address[1]}/common/v2.0/x"
        )
        monkeypatch.setenv(ENTRA_AUDIENCE, AUDIENCE)
        error = refused(bearer(tenant.token()), status=503)
        assert "template" in error.message and ENTRA_ISSUER in error.message
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({ENTRA_OPENID_CONFIGURATION_URL: "https://login.microsoftonline.com/t/v2.0/x"}, ENTRA_AUDIENCE),
        ({ENTRA_JWKS_URL: "https://login.microsoftonline.com/t/keys", ENTRA_AUDIENCE: "a"}, ENTRA_ISSUER),
        ({ENTRA_AUDIENCE: "a"}, ENTRA_OPENID_CONFIGURATION_URL),
        (
            {ENTRA_JWKS_URL: "http://keys.example/keys", ENTRA_ISSUER: "i", ENTRA_AUDIENCE: "a"},
            ENTRA_JWKS_URL,
        ),
    ],
    ids=["no-audience", "jwks-without-issuer", "audience-only", "plain-http"],
)
def test_an_incomplete_configuration_is_a_500_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tenant: IdentityProvider, settings: dict[str, str], named: str
) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    error = refused(bearer(tenant.token()), status=500)
    assert error.reason == "misconfigured" and named in error.message
