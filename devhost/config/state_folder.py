"""devhost's state folder (``<app>/.devhost/`` by default, beside the SQLite state): the files it keeps
there for the next start, secrets among them, written readable by the owner only."""

from __future__ import annotations

import os
from pathlib import Path

from devhost.config.errors import DevHostError


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, all at once (a crash leaves the old file or the new)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o600)  # O_CREAT's mode is narrowed by the umask only, never widened
        os.replace(temporary, path)
    except OSError as exc:
        raise DevHostError(f"cannot write {path}: {exc.strerror or exc}") from None
