"""Core Tools style console logs: function executions and orchestration state changes."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

from devhost.log_levels import LogLevels

logger = logging.getLogger("devhost")
# host.json logging.logLevel: the function execution lines are category Function.<name>, the durable
# task lines Host.Triggers.DurableTask (the extension's), both at Information.
levels = LogLevels()
DURABLE_CATEGORY = "Host.Triggers.DurableTask"


def stamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _CoreToolsFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"[{stamp(record.created)}] {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure_console(level: int = logging.INFO) -> None:
    """Used by the CLI; tests leave logging to pytest's capture."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_CoreToolsFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def executing(name: str, reason: str, invocation_id: str) -> None:
    if not levels.allows(f"Function.{name}", logging.INFO):
        return
    logger.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", name, reason, invocation_id)


def executed(name: str, ok: bool, invocation_id: str, duration_ms: float) -> None:
    if not levels.allows(f"Function.{name}", logging.INFO if ok else logging.ERROR):
        return
    logger.info(
        "Executed 'Functions.%s' (%s, Id=%s, Duration=%dms)",
        name,
        "Succeeded" if ok else "Failed",
        invocation_id,
        round(duration_ms),
    )


def orchestration(instance_id: str, name: str, what: str) -> None:
    if not levels.allows(DURABLE_CATEGORY, logging.INFO):
        return
    logger.info("%s: Orchestration '%s' %s.", instance_id, name, what)
