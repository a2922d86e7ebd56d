"""The approval signing key devhost provides to the app, so approval links outlive a restart.

The app signs approval links with the APPROVAL_SIGNING_KEY app setting, and without one with a key that
lasts one process: every link breaks when devhost restarts. When neither local.settings.json nor the
environment sets it (empty counts as unset), devhost generates a key once, keeps it in its state folder
(``.devhost/signing-key``, mode 0600, beside state.sqlite) and sets it in the environment before it loads
the app. With --in-memory state nothing is kept: runs do not outlive the process either.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from devhost.errors import DevHostError
from devhost.state_folder import write_private

SETTING = "APPROVAL_SIGNING_KEY"
FILE_NAME = "signing-key"


def provide_signing_key(state_folder: Path | None) -> tuple[str, dict[str, str | None]]:
    """Set the key in the environment unless the app settings do.

    Returns the start-up line saying where the key comes from, and the previous values of what it set
    (for ``settings.restore_environment``).
    """
    if os.environ.get(SETTING, "").strip():
        return f"Approval links are signed with the {SETTING} app setting.", {}
    if state_folder is None:
        return (
            f"Approval links are signed with a key that lasts this process ({SETTING} is not set, "
            "state is in memory).",
            {},
        )
    path = state_folder / FILE_NAME
    key = _read(path)
    if key is None:
        key = secrets.token_urlsafe(48)
        write_private(path, key + "\n")
    previous = {SETTING: os.environ.get(SETTING)}
    os.environ[SETTING] = key
    return f"Approval links are signed with the key kept in {path} ({SETTING} is not set).", previous


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise DevHostError(f"cannot read the approval signing key {path}: {exc}") from None
