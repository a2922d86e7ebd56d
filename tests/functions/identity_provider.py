"""A stand-in for a Microsoft Entra ID tenant, for tests: an RSA signing key, its JWKS and an OpenID
metadata document served on a loopback HTTP server, and tokens signed with PyJWT."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT = "11111111-2222-3333-4444-555555555555"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
AUDIENCE = "api://durable-workflows"
KID = "test-key-1"
METADATA_PATH = f"/{TENANT}/v2.0/.well-known/openid-configuration"
JWKS_PATH = f"/{TENANT}/discovery/v2.0/keys"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig"}  # as Entra publishes them: no "alg"


class IdentityProvider:
    """Serves ``METADATA_PATH`` and ``JWKS_PATH`` on 127.0.0.1 (a free port); counts requests per path."""

    def __init__(self) -> None:
        self.key = new_key()
        self.keys = [public_jwk(self.key, KID)]
        self.hits: Counter[str] = Counter()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.hits[self.path] += 1
                if self.path == METADATA_PATH:
                    body = {"issuer": ISSUER, "jwks_uri": provider.url + JWKS_PATH}
                elif self.path == JWKS_PATH:
                    body = {"keys": provider.keys}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def metadata_url(self) -> str:
        return self.url + METADATA_PATH

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def token(
        self,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str = KID,
        algorithm: str = "RS256",
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        """An access token as Entra ID issues one (valid for an hour), with ``claims`` changed or added
        and the claims named in ``drop`` left out."""
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "tid": TENANT,
            "ver": "2.0",
            "preferred_username": "alice@contoso.example",
            "name": "Alice Example",
            "roles": ["finance"],
            **claims,
        }
        for name in drop:
            payload.pop(name, None)
        return jwt.encode(payload, key or self.key, algorithm=algorithm, headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(payload: dict[str, Any], kid: str = KID) -> str:
    """``alg: none``: a token that claims to need no signature."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{_b64(json.dumps(payload).encode())}."


def hs256_with_public_key(provider: IdentityProvider, payload: dict[str, Any]) -> str:
    """The key-confusion attack: HMAC-SHA256 keyed with the tenant's PUBLIC key (PEM), which a
    verifier that lets the token pick the algorithm would accept."""
    secret = provider.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
    body = _b64(json.dumps(payload).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})
