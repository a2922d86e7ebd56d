"""The app's own logs (``logging`` in its functions, ``warnings``) on devhost's console, as ``func start``
shows what the Python worker forwards: each with its level and, inside an invocation, the function it
came from (category ``Function.<name>.User``), filtered by host.json ``logging.logLevel``.

The worker forwards records of the root logger; DEBUG records only with the app setting
PYTHON_ENABLE_DEBUG_LOGGING (the worker's own switch), and then only where host.json lets Debug through.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from devhost.config.log_levels import LogLevels, level_name
from devhost.console.host_logs import stamp, write_gathered

# The function whose invocation is running in this context (thread or task); None outside one.
current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "devhost_current_function", default=None
)
DEBUG_SETTING = "PYTHON_ENABLE_DEBUG_LOGGING"
# Logs the host writes itself, and those the app's logging must not loop back into.
_OWN_LOGGERS = ("devhost",)


@contextmanager
def invocation(name: str) -> Iterator[None]:
    """While the block runs, the app's log records in this context come from function ``name``."""
    token = current_function.set(name)
    try:
        yield
    finally:
        current_function.reset(token)


def category(function: str | None) -> str:
    """The host's category for a user log: the function's, or the worker's console outside one."""
    return f"Function.{function}.User" if function else "Host.Function.Console"


class AppLogHandler(logging.Handler):
    """Writes the app's log records on the console as the host shows them, filtered by host.json levels."""

    def __init__(self, levels: LogLevels, stream: TextIO | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.levels = levels
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        """Write one of the app's records (not devhost's own), naming the function it came from."""
        if record.name.split(".")[0] in _OWN_LOGGERS:
            return
        function = current_function.get()
        if not self.levels.allows(category(function), record.levelno):
            return
        try:
            where = f"Functions.{function}: " if function else ""
            message = record.getMessage().rstrip()
            text = f"[{stamp(record.created)}] [{level_name(record.levelno)}] {where}{message}"
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            write_gathered()  # devhost's own lines logged before this one come first
            stream = self.stream or sys.stdout
            stream.write(text + "\n")
            stream.flush()
        except Exception:
            if sys.meta_path is None:
                # The interpreter is shutting down (a garbage-collected object warning from __del__):
                # nothing can be formatted or written any more, and a traceback about it helps nobody.
                return
            self.handleError(record)


AZURE_HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"


def install(levels: LogLevels, environ: dict[str, str] | None = None) -> AppLogHandler:
    """Show the app's logs on the console (``python -m devhost``; in-process tests leave logging to pytest).
    ``warnings.warn`` goes through logging too, as a Warning, instead of raw text on stderr."""
    env = os.environ if environ is None else environ
    debug = env.get(DEBUG_SETTING, "").strip().lower() in {"1", "true"}
    handler = AppLogHandler(levels)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, AppLogHandler)] + [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    # The Azure SDK logs every HTTP request and response at Information; devhost's own Storage listeners
    # poll Azurite through it, which would bury the app's lines (set the logger's level to see them).
    logging.getLogger(AZURE_HTTP_LOGGER).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return handler
