"""Exporters from the standard settings: OTLP/HTTP, Azure Monitor, or nothing.

- ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``): traces and metrics over
  OTLP/HTTP (protobuf) to a collector, Jaeger or the Aspire dashboard. The exporters read the other
  ``OTEL_EXPORTER_OTLP_*`` settings (headers, timeout, per-signal endpoints) themselves, and the SDK its
  ``OTEL_BSP_*`` / ``OTEL_METRIC_EXPORT_INTERVAL`` / ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``.
- ``APPLICATIONINSIGHTS_CONNECTION_STRING``: Azure Monitor through its OpenTelemetry distro, as Azure
  Functions apps do; with an OTLP endpoint as well, both receive everything.
- neither: nothing is installed or exported, and the engine's telemetry stays off.

``OTEL_SDK_DISABLED=true`` turns all of it off. Exporter modules are imported only when configured.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Literal

from opentelemetry import metrics, trace
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider

from engine.telemetry import names
from engine.telemetry.state import configure_telemetry, resolve_again

log = logging.getLogger("engine.telemetry")

OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTLP_TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
OTLP_METRICS_ENDPOINT = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
APPINSIGHTS = "APPLICATIONINSIGHTS_CONNECTION_STRING"
SDK_DISABLED = "OTEL_SDK_DISABLED"

Configured = Literal["off", "disabled", "existing", "otlp", "azure_monitor", "azure_monitor+otlp"]

_configured: list[Configured] = []


def _setting(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def configure_from_environment(environ: Mapping[str, str] | None = None) -> Configured:
    """Install exporters as the settings say, once per process; returns what was done."""
    if _configured:
        return _configured[0]
    env = os.environ if environ is None else environ
    outcome = _configure(env)
    _configured.append(outcome)
    if outcome == "disabled":
        configure_telemetry(None)
    elif outcome != "off":
        # Providers were installed (or found): report through them. "off" leaves alone whatever the
        # app configured with ``configure_telemetry``.
        resolve_again()
        log.info("OpenTelemetry: %s", outcome)
    return outcome


def _configure(env: Mapping[str, str]) -> Configured:
    if _setting(env, SDK_DISABLED).lower() == "true":
        return "disabled"
    connection = _setting(env, APPINSIGHTS)
    otlp = bool(_setting(env, OTLP_ENDPOINT) or _setting(env, OTLP_TRACES_ENDPOINT))
    if not connection and not otlp:
        return "off"
    if not isinstance(trace.get_tracer_provider(), ProxyTracerProvider | NoOpTracerProvider):
        return "existing"  # the app installed its providers itself: report through them, add nothing
    protocol = _setting(env, OTLP_PROTOCOL)
    if otlp and protocol and protocol != "http/protobuf":
        log.warning("%s=%s is not supported: exporting over OTLP/HTTP (protobuf)", OTLP_PROTOCOL, protocol)
    if connection:
        from azure.monitor.opentelemetry import configure_azure_monitor

        extra: dict[str, Any] = {}
        if otlp:
            span_processor, readers = _otlp(env)
            extra = {"span_processors": [span_processor], "metric_readers": readers}
        configure_azure_monitor(connection_string=connection, **extra)
        return "azure_monitor+otlp" if otlp else "azure_monitor"
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    span_processor, readers = _otlp(env)
    resource = _resource(env)
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(span_processor)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    return "otlp"


def _otlp(env: Mapping[str, str]) -> tuple[Any, list[Any]]:
    """The OTLP span processor, and the metric reader unless only a traces endpoint is named."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    readers: list[Any] = []
    if _setting(env, OTLP_ENDPOINT) or _setting(env, OTLP_METRICS_ENDPOINT):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    return BatchSpanProcessor(OTLPSpanExporter()), readers


def _resource(env: Mapping[str, str]) -> Any:
    from opentelemetry.sdk.resources import Resource

    named = _setting(env, "OTEL_SERVICE_NAME") or "service.name=" in _setting(env, "OTEL_RESOURCE_ATTRIBUTES")
    # On Azure the site name tells apps apart; locally the project's name does.
    default = _setting(env, "WEBSITE_SITE_NAME") or names.DEFAULT_SERVICE_NAME
    return Resource.create({} if named else {"service.name": default})
