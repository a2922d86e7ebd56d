"""The offline model's answer streamed as a model's would be: word by word (each word with the space after
it), so streams, their readers and the dashboard work without keys.

``ENGINE_OFFLINE_STREAM_DELAY_MS`` (default 0) pauses between words, for a person (or a test) to watch
the text arrive.
"""

from __future__ import annotations

import asyncio
import os
import re

from engine.core.streams import StreamWriter

DELAY_SETTING = "ENGINE_OFFLINE_STREAM_DELAY_MS"
_WORD = re.compile(r"\s*\S+\s*|\s+")


def words(text: str) -> list[str]:
    """``text`` cut into words, each with the spaces around it; joined, they give ``text`` back."""
    return _WORD.findall(text)


def _delay() -> float:
    try:
        return max(float(os.environ.get(DELAY_SETTING, "") or 0), 0.0) / 1000
    except ValueError:
        return 0.0


async def stream_offline(text: str | None, writer: StreamWriter) -> None:
    """Write ``text`` to ``writer`` one word at a time (nothing for a turn without text)."""
    delay = _delay()
    for n, word in enumerate(words(text or "")):
        if delay and n:
            await asyncio.sleep(delay)
        await writer.write(word)


__all__ = ["stream_offline", "words"]
