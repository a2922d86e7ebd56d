"""Core Tools style console logs: function executions and orchestration state changes.

Every invocation prints two of these lines (``Executing`` / ``Executed``), so a map of 10,000 items
prints 20,000: going through ``logging`` (a ``LogRecord``, the handler's lock and formatter, a
``strftime`` per line) cost more than the activities themselves. When the console is the one
``configure_console`` installed and nothing else listens, the lines are formatted here, the same text
``logging`` would write, and the console writes those of one event-loop turn together; otherwise (tests
under pytest's capture, another handler added) they go through ``logging`` as any record does.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from devhost.config.log_levels import LogLevels

logger = logging.getLogger("devhost")
# host.json logging.logLevel: the function execution lines are category Function.<name>, the durable
# task lines Host.Triggers.DurableTask (the extension's), both at Information.
levels = LogLevels()
DURABLE_CATEGORY = "Host.Triggers.DurableTask"

# The whole seconds of the last stamp and their text: consecutive lines mostly fall in the same second,
# and strftime was most of a stamp's cost. One tuple, so a thread never sees the two halves disagree.
_last_second: tuple[int, str] = (-1, "")


def stamp(created: float) -> str:
    """``created`` (epoch seconds) as Core Tools prints it: UTC, milliseconds, trailing Z; the same text
    as ``datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"``."""
    global _last_second
    # Microseconds rounded half to even, carried into the second, as datetime.fromtimestamp does.
    fraction, whole = math.modf(created)
    micros = round(fraction * 1e6)
    second = int(whole)
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    elif micros < 0:
        second, micros = second - 1, micros + 1_000_000
    cached_second, text = _last_second
    if cached_second != second:
        text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _last_second = (second, text)
    return f"{text}.{micros // 1000:03d}Z"


class _CoreToolsFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"[{stamp(record.created)}] {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _Console(logging.StreamHandler[TextIO]):
    """The CLI's console. Besides the records any StreamHandler writes, it takes devhost's own lines
    already formatted (``gather``) and writes those of one event-loop turn together: with stdout
    unbuffered (PYTHONUNBUFFERED, as a crash campaign runs devhost) every line was a write system call,
    and each gave up the GIL to the function threads and waited to get it back.

    Gathered lines are written before anything else reaches the stream through devhost (records of
    this handler, the app's logs), before a function's own code runs (``Invoker``), and before a commit
    (``TaskHub``), so the console keeps their order and a result that is durable has its lines written.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._gathered: list[str] = []
        self._write_scheduled = False

    def emit(self, record: logging.LogRecord) -> None:
        self.write_gathered()
        super().emit(record)

    def gather(self, line: str) -> None:
        with self.lock:  # type: ignore[union-attr]  # StreamHandler always creates its lock
            self._gathered.append(line)
            if self._write_scheduled:
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not on the event loop: no turn of it would write the line
                self.write_gathered()
                return
            self._write_scheduled = True
        loop.call_soon(self._write_turn)

    def _write_turn(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_scheduled = False
            self.write_gathered()

    def write_gathered(self) -> None:
        if not self._gathered:  # the common case, without the lock
            return
        with self.lock:  # type: ignore[union-attr]
            lines, self._gathered = self._gathered, []
            if not lines:
                return
            try:
                self.stream.write("".join(lines))
                self.flush()
            except Exception:
                text = "".join(lines)
                self.handleError(logger.makeRecord(logger.name, logging.INFO, "", 0, "%s", (text,), None))


# The console configure_console installed (None: logging is left to the caller, e.g. pytest).
_console: _Console | None = None


def configure_console(level: int = logging.INFO) -> None:
    """Used by the CLI; tests leave logging to pytest's capture."""
    global _console
    write_gathered()  # a console configured again: what the old one gathered comes first
    handler = _Console(sys.stdout)
    handler.setFormatter(_CoreToolsFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    _console = handler


def write_gathered() -> None:
    """Write the console lines gathered so far (nothing to do without the CLI's console)."""
    console = _console
    if console is not None:
        console.write_gathered()


# Lines still gathered when the process ends normally (the loop gone before its turn came).
atexit.register(write_gathered)


def _info(message: str, *args: Any) -> None:
    """``logger.info(message, *args)``; when the CLI's console is its only listener, the line is
    formatted here (the text its formatter gives) and gathered there instead."""
    console = _console
    handlers = logger.handlers
    if (
        console is None
        or len(handlers) != 1
        or handlers[0] is not console
        or logger.filters
        or console.filters
        or console.level > logging.INFO
        or not logger.isEnabledFor(logging.INFO)
    ):
        logger.info(message, *args)
        return
    console.gather(f"[{stamp(time.time())}] {message % args}{console.terminator}")


def executing(name: str, reason: str, invocation_id: str) -> None:
    """The ``Executing 'Functions.<name>'`` line before a function runs."""
    if not levels.allows(f"Function.{name}", logging.INFO):
        return
    _info("Executing 'Functions.%s' (Reason='%s', Id=%s)", name, reason, invocation_id)


def executed(name: str, ok: bool, invocation_id: str, duration_ms: float) -> None:
    """The ``Executed 'Functions.<name>'`` line after it ran: Succeeded or Failed, and how long it took."""
    if not levels.allows(f"Function.{name}", logging.INFO if ok else logging.ERROR):
        return
    _info(
        "Executed 'Functions.%s' (%s, Id=%s, Duration=%dms)",
        name,
        "Succeeded" if ok else "Failed",
        invocation_id,
        round(duration_ms),
    )


def orchestration(instance_id: str, name: str, what: str) -> None:
    """An orchestration's state change, as the Durable extension logs it."""
    if not levels.allows(DURABLE_CATEGORY, logging.INFO):
        return
    _info("%s: Orchestration '%s' %s.", instance_id, name, what)


@dataclass(frozen=True)
class EntityOperation:
    """One operation of an entity batch, as the extension's entity trace lines name it."""

    instance_id: str  # @name@key
    name: str  # the entity's name, lower-cased as in its id
    operation: str
    operation_id: str
    input: str | None  # the operation's input, JSON text


def _shown_payload(text: str | None, raw: bool) -> str:
    """A payload as the extension's trace lines show it (EndToEndTraceHelper.SanitizeString): its length
    only, unless host.json asks for the payloads themselves (tracing.traceInputsAndOutputs)."""
    payload = text or ""
    return payload if raw else f"(Redacted {len(payload)} characters)"


def entity_operation_failed(
    entity: EntityOperation, exception: str | None, duration_ms: float, hub: str, *, raw: bool
) -> None:
    """The extension's line for an entity operation that failed (EndToEndTraceHelper.OperationFailed,
    logged by TaskEntityShim for each failed result of a batch): an Error of Host.Triggers.DurableTask.
    devhost is not the extension and has no extension version or trace sequence: the line ends at the
    slot name."""
    if not levels.allows(DURABLE_CATEGORY, logging.ERROR):
        return
    logger.error(
        "%s: Function '%s (Entity)' failed '%s' operation %s after %sms with exception %s. Input: %s. "
        "IsReplay: False. HubName: %s. AppName: %s. SlotName: %s.",
        entity.instance_id,
        entity.name,
        entity.operation,
        entity.operation_id,
        f"{duration_ms:g}",
        _shown_payload(exception, raw),
        _shown_payload(entity.input, raw),
        hub,
        os.environ.get("WEBSITE_SITE_NAME", ""),
        os.environ.get("WEBSITE_SLOT_NAME", ""),
    )
