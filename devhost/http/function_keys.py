"""Function keys for --require-keys: a master key, a default function key, the system keys of the durable
extension (its management URLs) and of the MCP extension (its endpoints)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from devhost.config.errors import DevHostError
from devhost.config.state_folder import write_private


@dataclass(frozen=True)
class Keys:
    """The host's keys under --require-keys."""

    master: str
    function: str
    durable: str  # the durabletask_extension system key, used by the management URLs
    mcp: str  # the mcp_extension system key, for /runtime/webhooks/mcp

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

    def allows_mcp(self, supplied: str | None) -> bool:
        """Whether ``supplied`` is the MCP extension's system key (or the master key)."""
        return bool(supplied) and any(_same(supplied or "", k) for k in (self.mcp, self.master))


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
    """Keys kept in <state folder>/keys.json so they survive restarts (in-memory mode: fresh keys); a file
    written before the MCP extension's key existed gets one added."""
    if folder is None:
        return Keys(_new(), _new(), _new(), _new())
    path = folder / "keys.json"
    if not path.exists():
        return _stored(path, Keys(_new(), _new(), _new(), _new()))
    try:
        data = json.loads(path.read_text())
        system = data["systemKeys"]
        keys = Keys(
            data["master"],
            data["functionKeys"]["default"],
            system["durabletask_extension"],
            system.get("mcp_extension", ""),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DevHostError(f"cannot read keys from {path}: {exc}") from None
    return keys if keys.mcp else _stored(path, replace(keys, mcp=_new()))


def _stored(path: Path, keys: Keys) -> Keys:
    """``keys`` written to ``path`` (readable by this user only), as the host's keys.json names them."""
    stored = {
        "master": keys.master,
        "functionKeys": {"default": keys.function},
        "systemKeys": {"durabletask_extension": keys.durable, "mcp_extension": keys.mcp},
    }
    write_private(path, json.dumps(stored, indent=2))
    return keys
