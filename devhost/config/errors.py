"""Errors the host reports to the user as one clear line (exit code 2 in the CLI)."""

from __future__ import annotations


class DevHostError(Exception):
    """A startup problem with a clear, single-line explanation (no traceback needed)."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Extra text printed before the message, e.g. the app's own import traceback.
        self.detail = detail
