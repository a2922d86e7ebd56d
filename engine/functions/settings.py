"""App settings the workflow engine reads (Functions app settings arrive as environment variables)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from urllib.parse import urlparse

from engine.core.app_settings import byte_size, flag
from engine.durable.signing_keys import SIGNING_KEY, SigningKeys

log = logging.getLogger("engine.settings")

REQUIRE_TOKEN = "APPROVAL_REQUIRE_TOKEN"
MAX_BODY = "WORKFLOW_MAX_BODY_BYTES"
EXPOSE_KEYS = "WORKFLOW_EXPOSE_SYSTEM_KEYS"
# Whether the host in front of the app checks function keys. Only the OpenAPI document reads it (the
# host alone checks keys; this never turns them off): true, the default, as on Azure; devhost sets it,
# false without --require-keys; under ``func start`` (no --enableAuth) set it to false yourself.
HOST_CHECKS_KEYS = "WORKFLOW_HOST_CHECKS_KEYS"


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """The engine's own app settings, as read once per call of ``engine_settings``."""

    require_approval_token: bool
    max_body_bytes: int
    expose_system_keys: bool


# App settings the platform sets on every Azure Functions (App Service) instance.
ON_AZURE = ("WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME")


def check_signing_key() -> None:
    """Say at start-up when approval links are signed with a per-process key.

    On Azure that breaks every link after a restart, a scale-out or a deploy, so it is logged as an
    ERROR; elsewhere (tests, a host that sets no key) as a warning. devhost sets a key it keeps under
    ``.devhost/``, so ``make serve`` links survive restarts.
    """
    if SigningKeys.from_env().configured:
        return
    on_azure = any(os.environ.get(name) for name in ON_AZURE)
    log.log(
        logging.ERROR if on_azure else logging.WARNING,
        "%s is not set: approval links are signed with a key that lives only as long as this process%s. "
        "Set it (a long random string, e.g. from Key Vault) so links survive restarts and work across "
        "instances.",
        SIGNING_KEY,
        ", so on Azure they break at every restart, scale-out and deploy" if on_azure else "",
    )


def host_checks_keys() -> bool:
    """Whether the host in front of the app checks function keys (``WORKFLOW_HOST_CHECKS_KEYS``)."""
    return flag(HOST_CHECKS_KEYS, True)


def engine_settings() -> EngineSettings:
    """Read on each call (cheap) so tests and hosts that change settings at run time are honoured."""
    return EngineSettings(
        require_approval_token=flag(REQUIRE_TOKEN, False),
        max_body_bytes=byte_size(MAX_BODY, 1024 * 1024),
        expose_system_keys=flag(EXPOSE_KEYS, False),
    )


# Who is calling (engine.functions.identity): App Service authentication and Entra ID bearer tokens.
TRUST_EASY_AUTH = "WORKFLOW_TRUST_EASY_AUTH"
PLATFORM_AUTH_ENABLED = "WEBSITE_AUTH_ENABLED"  # set by the platform when App Service authentication is on
ENTRA_OPENID_CONFIGURATION_URL = "ENTRA_OPENID_CONFIGURATION_URL"
ENTRA_JWKS_URL = "ENTRA_JWKS_URL"
ENTRA_ISSUER = "ENTRA_ISSUER"
ENTRA_AUDIENCE = "ENTRA_AUDIENCE"
ENTRA_SETTINGS = (ENTRA_OPENID_CONFIGURATION_URL, ENTRA_JWKS_URL, ENTRA_ISSUER, ENTRA_AUDIENCE)
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True, slots=True)
class EasyAuthSettings:
    """``trust`` is the app's own choice (WORKFLOW_TRUST_EASY_AUTH); ``platform_enabled`` is what the
    platform says (WEBSITE_AUTH_ENABLED). The principal header is believed only when both are true."""

    trust: bool
    platform_enabled: bool

    @property
    def trusted(self) -> bool:
        """Whether Easy Auth's principal header is believed: the app trusts it and the platform has it on."""
        return self.trust and self.platform_enabled


@dataclass(frozen=True, slots=True)
class EntraSettings:
    """Where the tenant's keys and issuer come from, and which audiences this app accepts.

    ``openid_configuration_url`` supplies ``jwks_uri`` and ``issuer``; ``jwks_url`` and ``issuers``,
    when set, are used instead of the metadata's values.
    """

    openid_configuration_url: str | None
    jwks_url: str | None
    issuers: tuple[str, ...]
    audiences: tuple[str, ...]


def easy_auth_settings() -> EasyAuthSettings:
    """The Easy Auth settings, read from the app settings on each call."""
    return EasyAuthSettings(
        trust=flag(TRUST_EASY_AUTH, False), platform_enabled=flag(PLATFORM_AUTH_ENABLED, False)
    )


def _list(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


def _url(name: str) -> str | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme == "https" and parsed.hostname:
        return raw
    if parsed.scheme == "http" and parsed.hostname in LOOPBACK_HOSTS:
        return raw  # a local test server; keys from anywhere else must come over https
    raise ValueError(f"app setting {name} must be an https:// URL, got {raw!r}")


def entra_settings() -> EntraSettings | None:
    """The Entra ID bearer-token settings, or None when bearer validation is off (neither
    ENTRA_OPENID_CONFIGURATION_URL nor ENTRA_JWKS_URL is set, nor any other ENTRA_ setting).

    A partial configuration is a ValueError naming the missing setting, never a silent "off".
    ENTRA_ISSUER and ENTRA_AUDIENCE take comma-separated lists.
    """
    if not any(os.environ.get(name, "").strip() for name in ENTRA_SETTINGS):
        return None
    metadata, jwks, issuers, audiences = (
        _url(ENTRA_OPENID_CONFIGURATION_URL),
        _url(ENTRA_JWKS_URL),
        _list(ENTRA_ISSUER),
        _list(ENTRA_AUDIENCE),
    )
    if metadata is None and jwks is None:
        raise ValueError(
            f"Entra ID bearer tokens are half configured: set {ENTRA_OPENID_CONFIGURATION_URL} "
            f"(or {ENTRA_JWKS_URL} and {ENTRA_ISSUER})"
        )
    if metadata is None and not issuers:
        raise ValueError(f"app setting {ENTRA_ISSUER} is required with {ENTRA_JWKS_URL}")
    if not audiences:
        raise ValueError(
            f"app setting {ENTRA_AUDIENCE} is required to accept Entra ID bearer tokens "
            "(this API's application ID URI or client id)"
        )
    return EntraSettings(
        openid_configuration_url=metadata, jwks_url=jwks, issuers=issuers, audiences=audiences
    )
