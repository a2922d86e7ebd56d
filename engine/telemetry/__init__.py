"""OpenTelemetry traces and metrics of runs, steps, approvals and agent calls.

A layer of its own below every other one: it imports nothing from the engine, so ``core``, the runners,
``agents`` and ``functions`` can all report through it. With no telemetry configured (no exporter setting
and no OpenTelemetry SDK installed by the app) every entry point returns at its first check.
"""

from __future__ import annotations

from engine.telemetry.setup import configure_from_environment
from engine.telemetry.state import Telemetry, configure_telemetry, current

__all__ = ["Telemetry", "configure_from_environment", "configure_telemetry", "current"]
