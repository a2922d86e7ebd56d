"""``watch --tokens``: an agent step's text printed as it arrives, read from the step's stream
(``GET <run>/steps/<step>/stream``), each chunk once, resumed at the offset it got to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from engine.functions.stream_api import StreamAnswer

WAIT_SECONDS = 25
Get = Callable[[str, dict[str, str]], Any]


class TokenPrinter:
    """Prints each step's streamed text once: followed live (``follow``) or read when the step ends."""

    def __init__(self, run_url: str, get: Get, out: TextIO, key: dict[str, str]) -> None:
        self.run_url = run_url
        self.get = get
        self.out = out
        self.key = key
        self.printed: set[str] = set()

    def follow(self, step: str, *, live: bool) -> None:
        """Print ``step``'s text to the end of its newest attempt (``live``: waiting for what comes, else
        what is stored now), once per step."""
        if step in self.printed:
            return
        self.printed.add(step)
        after, attempt, started = 0, None, False
        while True:
            params = {"after": str(after), "wait": str(WAIT_SECONDS if live else 0), **self.key}
            if attempt is not None:
                params["attempt"] = str(attempt)
            answer = StreamAnswer.model_validate(self.get(f"{self.run_url}/steps/{step}/stream", params))
            if answer.attempt is None:
                return  # the step wrote no text
            if answer.newAttempt or not started:
                again = f" (attempt {answer.attempt})" if answer.attempt > 1 else ""
                print(("\n" if started else "") + f"          ✎ {step}{again}: ", end="", file=self.out)
                started = True
            print("".join(c.text for c in answer.chunks), end="", file=self.out, flush=True)
            attempt, after = answer.attempt, answer.next
            if answer.done or not (live or answer.chunks):
                print(file=self.out, flush=True)
                return


__all__ = ["TokenPrinter"]
