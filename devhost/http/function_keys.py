"""Function keys for --require-keys: a master key, a default function key, the durable system key."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from devhost.config.errors import DevHostError
from devhost.config.state_folder import write_private


@dataclass(frozen=True)
class Keys:
    """The host's keys under --require-keys."""

    master: str
    function: str
    durable: str  # the durabletask_extension system key, used by the management URLs

    def allows(self, level: str, supplied: str | None) -> bool:
        """Host rules: anonymous needs nothing, function needs a function or master key, admin the master."""
        if level == "anonymous":
            return True
        if not supplied:
            return False
        if level == "admin":
            return _same(supplied, self.master)
        return any(_same(supplied, k) for k in (self.function, self.master))

    def allows_system(self, supplied: str | None) -> bool:
        """Whether ``supplied`` is the durable system key (or the master key), compared in constant time."""
        return bool(supplied) and any(_same(supplied or "", k) for k in (self.durable, self.master))


def _same(supplied: str, key: str) -> bool:
    """A constant-time comparison of bytes: compare_digest refuses str with non-ASCII characters (a
    TypeError, so a ?code=\u00e9 answered 500 instead of 401); a lone surrogate stays comparable too."""
    return secrets.compare_digest(supplied.encode("utf-8", "surrogatepass"), key.encode("utf-8"))


# The app setting that tells the app whether its host checks keys (the workflow engine's OpenAPI document
# says so). The host knows, so it sets it either way, whatever the app settings say.
CHECKS_KEYS_SETTING = "WORKFLOW_HOST_CHECKS_KEYS"


def provide_keys_setting(require_keys: bool) -> dict[str, str | None]:
    """Set CHECKS_KEYS_SETTING to what this host does; the previous value, to restore it."""
    previous = {CHECKS_KEYS_SETTING: os.environ.get(CHECKS_KEYS_SETTING)}
    os.environ[CHECKS_KEYS_SETTING] = "true" if require_keys else "false"
    return previous


def _new() -> str:
    return secrets.token_urlsafe(30)


def load_or_create_keys(folder: Path | None) -> Keys:
    """Keys kept in <state folder>/keys.json so they survive restarts (in-memory mode: fresh keys)."""
    if folder is None:
        return Keys(_new(), _new(), _new())
    path = folder / "keys.json"
    if path.exists():
        try:
            data = json.loads(path.read_text())
            return Keys(
                data["master"], data["functionKeys"]["default"], data["systemKeys"]["durabletask_extension"]
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DevHostError(f"cannot read keys from {path}: {exc}") from None
    keys = Keys(_new(), _new(), _new())
    stored = {
        "master": keys.master,
        "functionKeys": {"default": keys.function},
        "systemKeys": {"durabletask_extension": keys.durable},
    }
    write_private(path, json.dumps(stored, indent=2))
    return keys
