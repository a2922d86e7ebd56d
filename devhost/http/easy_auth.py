"""Easy Auth (App Service authentication), simulated only when asked.

On Azure the platform removes client-sent ``x-ms-client-principal*`` headers, and sets them itself, only
when authentication is on; it then also sets ``WEBSITE_AUTH_ENABLED=true``. devhost has no sign-in, so by
default it removes those headers: an app must not see an identity nobody vouched for. The local setting
``DEVHOST_SIMULATE_EASY_AUTH=true`` (local.settings.json Values or the environment), or
``python -m devhost --simulate-easy-auth``, turns on the simulation: devhost passes the caller's headers
through as if the platform had set them (it trusts whatever the caller claims) and sets
``WEBSITE_AUTH_ENABLED=true`` for the app. A WARNING line at start-up says so.
"""

from __future__ import annotations

import os

from devhost.config.errors import DevHostError

SETTING = "DEVHOST_SIMULATE_EASY_AUTH"
AUTH_ENABLED = "WEBSITE_AUTH_ENABLED"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}

WARNING = (
    f"Easy Auth is SIMULATED ({SETTING}): client-sent x-ms-client-principal headers reach the app as if "
    "App Service authentication had set them, so any caller can claim any identity; keep devhost on this "
    "machine."
)


def easy_auth_simulated(override: bool | None = None) -> bool:
    """``override`` (the CLI flag) when given, else the setting; a value that is not a boolean is an error."""
    if override is not None:
        return override
    raw = os.environ.get(SETTING, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise DevHostError(f"app setting {SETTING} must be true or false, got {raw!r}")


def apply_easy_auth(simulated: bool) -> dict[str, str | None]:
    """Set ``WEBSITE_AUTH_ENABLED=true`` when simulated, as the platform does with authentication on.

    Returns the previous values of what it set (for ``settings.restore_environment``).
    """
    if not simulated:
        return {}
    previous = {AUTH_ENABLED: os.environ.get(AUTH_ENABLED)}
    os.environ[AUTH_ENABLED] = "true"
    return previous
