"""App settings the workflow engine reads (Functions app settings arrive as environment variables)."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache

from engine.core.app_settings import byte_size, flag

log = logging.getLogger("engine.settings")

SIGNING_KEY = "APPROVAL_SIGNING_KEY"
REQUIRE_TOKEN = "APPROVAL_REQUIRE_TOKEN"
MAX_BODY = "WORKFLOW_MAX_BODY_BYTES"
EXPOSE_KEYS = "WORKFLOW_EXPOSE_SYSTEM_KEYS"


@dataclass(frozen=True, slots=True)
class EngineSettings:
    signing_key: bytes
    signing_key_is_ephemeral: bool
    require_approval_token: bool
    max_body_bytes: int
    expose_system_keys: bool


# App settings the platform sets on every Azure Functions (App Service) instance.
ON_AZURE = ("WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME")


@lru_cache(maxsize=1)
def _ephemeral_key() -> bytes:
    return secrets.token_bytes(32)


def check_signing_key() -> None:
    """Say at start-up when approval links are signed with a per-process key.

    On Azure that breaks every link after a restart, a scale-out or a deploy, so it is logged as an
    ERROR; elsewhere (tests, a host that sets no key) as a warning. devhost sets a key it keeps under
    ``.devhost/``, so ``make serve`` links survive restarts.
    """
    if os.environ.get(SIGNING_KEY, "").strip():
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


def engine_settings() -> EngineSettings:
    """Read on each call (cheap) so tests and hosts that change settings at run time are honoured."""
    configured = os.environ.get(SIGNING_KEY, "").strip()
    return EngineSettings(
        signing_key=configured.encode() if configured else _ephemeral_key(),
        signing_key_is_ephemeral=not configured,
        require_approval_token=flag(REQUIRE_TOKEN, True),
        max_body_bytes=byte_size(MAX_BODY, 1024 * 1024),
        expose_system_keys=flag(EXPOSE_KEYS, False),
    )
