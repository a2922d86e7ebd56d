"""The approval signing key devhost provides to an app that serves workflows, so approval links outlive a
restart.

The workflow app signs approval links with the APPROVAL_SIGNING_KEY app setting, and without one with a key
that lasts one process: every link breaks when devhost restarts. When neither local.settings.json nor the
environment sets it (empty counts as unset), devhost generates a key once, keeps it in its state folder
(``.devhost/signing-key``, mode 0600, beside state.sqlite) and sets it in the environment. With --in-memory
state nothing is kept: runs do not outlive the process either.

Only an app that serves workflows gets a key, a file and the start-up line saying where its key comes
from; any other app is left as it is. devhost imports no engine module, so it tells such an app by what it
indexed: the activity that verifies signed approval answers (``WORKFLOW_ACTIVITY``). That is known only
once the app is imported, and the workflow app reads the setting while it is imported (it warns when there
is none), so the key is offered before the import (``offer_signing_key``) and kept or withdrawn after the
indexing (``Offer.settle``): an app that turns out to serve no workflows ends with its environment as it
was, and no file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path

from devhost.config.errors import DevHostError
from devhost.config.host_settings import restore_environment
from devhost.config.state_folder import write_private

SETTING = "APPROVAL_SIGNING_KEY"
FILE_NAME = "signing-key"
# The engine's activity that verifies signed approval answers (engine/durable/answers.py VERIFY_ACTIVITY),
# written here as devhost imports no engine module; tests/devhost/test_signing_key.py keeps the two equal.
WORKFLOW_ACTIVITY = "verify_approval_answer"


def serves_workflows(activities: Container[str]) -> bool:
    """Whether the indexed app serves workflows: it has the activity that verifies approval answers
    (``activities``: the indexed activities' names, found in any case)."""
    return WORKFLOW_ACTIVITY in activities


@dataclass
class Offer:
    """The key as offered to the app during its import."""

    note: str  # the start-up line, for an app that serves workflows
    key_file: Path | None = None  # the state folder's key file, written on settling if ``unwritten``
    key: str | None = None
    unwritten: bool = False  # generated for this offer, not read from the file
    previous: dict[str, str | None] = field(default_factory=dict)  # what the offer set, to restore it

    def settle(self, serves: bool) -> tuple[str | None, dict[str, str | None]]:
        """Keep the key for an app that serves workflows (write a new one to the state folder), else
        withdraw it. Returns the start-up line (None: say nothing) and the previous values of what stays
        set (for ``settings.restore_environment``)."""
        if not serves:
            restore_environment(self.previous)
            return None, {}
        if self.unwritten and self.key_file is not None and self.key is not None:
            write_private(self.key_file, self.key + "\n")
        return self.note, self.previous


def offer_signing_key(state_folder: Path | None) -> Offer:
    """Set the key in the environment unless the app settings do; nothing is written yet."""
    if os.environ.get(SETTING, "").strip():
        return Offer(f"Approval links are signed with the {SETTING} app setting.")
    if state_folder is None:
        return Offer(
            f"Approval links are signed with a key that lasts this process ({SETTING} is not set, "
            "state is in memory)."
        )
    path = state_folder / FILE_NAME
    key = _read(path)
    unwritten = key is None
    if key is None:
        key = secrets.token_urlsafe(48)
    previous = {SETTING: os.environ.get(SETTING)}
    os.environ[SETTING] = key
    note = f"Approval links are signed with the key kept in {path} ({SETTING} is not set)."
    return Offer(note, path, key, unwritten, previous)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise DevHostError(f"cannot read the approval signing key {path}: {exc}") from None
