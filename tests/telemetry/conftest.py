"""Fixtures of the telemetry tests: a loopback OTLP receiver, and the engine reporting to it in-process
through the real OpenTelemetry SDK (providers of the test's own, never the process-wide ones)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from engine.telemetry.state import configure_telemetry, resolve_again
from tests.agents.fake_openai import FakeOpenAI
from tests.telemetry.otlp import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@dataclass
class Exporting:
    """The engine's telemetry, exported over OTLP/HTTP to ``receiver``; ``flush()`` sends what is due."""

    receiver: Receiver
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def flush(self) -> Receiver:
        assert self.tracer_provider.force_flush(10_000)
        assert self.meter_provider.force_flush(10_000)
        return self.receiver


@pytest.fixture
def exporting(receiver: Receiver) -> Iterator[Exporting]:
    resource = Resource.create({"service.name": "telemetry-tests"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.traces_url)))
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=receiver.metrics_url), export_interval_millis=3_600_000
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    configure_telemetry(tracer_provider, meter_provider)
    try:
        yield Exporting(receiver, tracer_provider, meter_provider)
    finally:
        resolve_again()
        tracer_provider.shutdown()
        meter_provider.shutdown()


@pytest.fixture
async def fake_openai(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeOpenAI]:
    """The project's OpenAI-compatible test server, named by the settings the agents read."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "AZURE_OPENAI_")):
            monkeypatch.delenv(name)
    async with FakeOpenAI.serving() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.v1)
        monkeypatch.setenv("OPENAI_MODEL", "gpt-test")
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        yield server
