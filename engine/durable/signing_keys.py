"""The app's approval signing keys: the one place that reads them.

``APPROVAL_SIGNING_KEY`` signs; ``APPROVAL_SIGNING_KEYS_RETIRED`` (comma-separated) still verify, so a
rotation breaks neither the answers in flight nor the respond links already in people's inboxes. Each key
is named by a public key id (a hash), which signed envelopes and links carry, so a verifier picks the key
without trying them all.

Both signed answers (``engine.durable.answers``) and respond links (``engine.functions.approval_tokens``)
take their keys from here. Links alone fall back to a key that lives as long as this process when no key
is configured (the app logs that at start-up): a link then works until a restart. Answers never do: an
answer signed by a key nobody configured would vouch for nothing after a restart.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

SIGNING_KEY = "APPROVAL_SIGNING_KEY"
RETIRED_KEYS = "APPROVAL_SIGNING_KEYS_RETIRED"


def key_id(secret: bytes) -> str:
    """A public name for a key: names it without revealing it."""
    return hashlib.sha256(b"approval-signing-key-id\x00" + secret).hexdigest()[:16]


@lru_cache(maxsize=1)
def _process_key() -> bytes:
    return secrets.token_bytes(32)


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """The key that signs (if any) and every key that verifies, by key id."""

    signing: tuple[str, bytes] | None
    verifying: Mapping[str, bytes]

    @classmethod
    def from_env(cls) -> SigningKeys:
        """The configured keys, read on each call (cheap), so a host that changes settings is honoured."""
        return _configured(os.environ.get(SIGNING_KEY, ""), os.environ.get(RETIRED_KEYS, ""))

    @classmethod
    def for_links(cls) -> SigningKeys:
        """The keys of respond links: the configured ones, or this process's own key when none is."""
        keys = cls.from_env()
        if keys.signing is not None:
            return keys
        secret = _process_key()
        return cls((key_id(secret), secret), MappingProxyType({**keys.verifying, key_id(secret): secret}))

    @property
    def configured(self) -> bool:
        """Whether a key that signs is configured (``APPROVAL_SIGNING_KEY``)."""
        return self.signing is not None

    def verifying_key(self, kid: str | None) -> list[bytes]:
        """The keys to check a signature naming ``kid`` with (every verifying key when it names none:
        links issued before links named their key)."""
        if kid is None:
            return list(self.verifying.values())
        found = self.verifying.get(kid)
        return [found] if found is not None else []


@lru_cache(maxsize=8)
def _configured(current_text: str, retired_text: str) -> SigningKeys:
    current = current_text.strip().encode()
    retired = [k.strip().encode() for k in retired_text.split(",") if k.strip()]
    verifying = {key_id(k): k for k in [*retired, *([current] if current else [])]}
    return SigningKeys((key_id(current), current) if current else None, MappingProxyType(verifying))


__all__ = ["RETIRED_KEYS", "SIGNING_KEY", "SigningKeys", "key_id"]
