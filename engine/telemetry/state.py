"""Whether telemetry is on, and the tracer and instruments everything reports through.

``current()`` is what every entry point asks first. It is resolved once, on first use (after the app
module has been imported, so a provider the app installs at import time is seen): an SDK tracer provider
installed globally (by ``configure_from_environment``, the Azure Monitor distro, or the app itself)
turns telemetry on; the API's default proxy provider leaves it off, and then the answer is a cached
``None`` that costs callers one function call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from opentelemetry import metrics, trace
from opentelemetry.metrics import Counter, Histogram, MeterProvider, UpDownCounter
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Tracer, TracerProvider

from engine.telemetry import names


@dataclass(frozen=True, slots=True)
class Telemetry:
    """The tracer and the instruments of the engine, from one pair of providers."""

    tracer: Tracer
    steps_started: Counter
    steps_failed: Counter
    steps_retried: Counter
    step_duration: Histogram
    approvals_pending: UpDownCounter
    token_usage: Histogram
    model_duration: Histogram

    @classmethod
    def of(cls, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Telemetry:
        """The tracer and every instrument, from these providers."""
        meter = meter_provider.get_meter(names.SCOPE)
        return cls(
            tracer=tracer_provider.get_tracer(names.SCOPE),
            steps_started=meter.create_counter(
                names.STEPS_STARTED, unit="{step}", description="Step attempts started"
            ),
            steps_failed=meter.create_counter(
                names.STEPS_FAILED, unit="{step}", description="Step attempts that failed"
            ),
            steps_retried=meter.create_counter(
                names.STEPS_RETRIED, unit="{step}", description="Failed step attempts another attempt follows"
            ),
            step_duration=meter.create_histogram(
                names.STEP_DURATION, unit="s", description="How long one step attempt ran"
            ),
            approvals_pending=meter.create_up_down_counter(
                names.APPROVALS_PENDING, unit="{approval}", description="Approvals waiting for an answer"
            ),
            token_usage=meter.create_histogram(
                names.GEN_AI_TOKEN_USAGE, unit="{token}", description="Tokens used per model call"
            ),
            model_duration=meter.create_histogram(
                names.GEN_AI_OPERATION_DURATION, unit="s", description="How long one model call took"
            ),
        )


@dataclass(slots=True)
class _Resolution:
    done: bool = False
    telemetry: Telemetry | None = None


_resolution = _Resolution()


def current() -> Telemetry | None:
    """The engine's telemetry, or None when it is off."""
    if _resolution.done:
        return _resolution.telemetry
    return _resolve()


def _resolve() -> Telemetry | None:
    provider = trace.get_tracer_provider()
    disabled = os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    if disabled or isinstance(provider, ProxyTracerProvider | NoOpTracerProvider):
        telemetry = None
    else:
        telemetry = Telemetry.of(provider, metrics.get_meter_provider())
    _resolution.done, _resolution.telemetry = True, telemetry
    return telemetry


def configure_telemetry(
    tracer_provider: TracerProvider | None = None, meter_provider: MeterProvider | None = None
) -> Telemetry | None:
    """Report through these providers rather than the global ones (an app with providers of its own,
    tests); with no tracer provider, telemetry is off."""
    if tracer_provider is None:
        _resolution.done, _resolution.telemetry = True, None
        return None
    telemetry = Telemetry.of(tracer_provider, meter_provider or metrics.get_meter_provider())
    _resolution.done, _resolution.telemetry = True, telemetry
    return telemetry


def resolve_again() -> None:
    """Forget the resolution: the next ``current()`` looks at the global providers again."""
    _resolution.done, _resolution.telemetry = False, None
