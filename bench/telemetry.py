"""The cost of telemetry on the in-memory runner: the same chain of N trivial steps with telemetry off,
with the OpenTelemetry SDK on but no exporter (spans and metrics recorded, then dropped), and with the
SDK exporting over OTLP/HTTP to a receiver on loopback (a real HTTP server in a process of its own, decoding
the protobuf export requests and counting the spans; a run's time includes flushing its spans).

Each mode runs in its own process (``python -m bench`` calls ``run`` once per mode).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.common import Row, timed
from bench.inmemory import _ours_workflow

OFF = "telemetry off"
SDK = "SDK on, no exporter"
OTLP = "SDK on, OTLP/HTTP to loopback"
MODES = (OFF, SDK, OTLP)


class _Receiver:
    """A loopback OTLP/HTTP endpoint in a process of its own (its decoding must not be charged to the
    runs measured): it decodes every trace export, counts the spans, and answers ``GET /spans``."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.telemetry", "receive"], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.endpoint = self.process.stdout.readline().strip()

    def spans(self) -> int:
        with urllib.request.urlopen(f"{self.endpoint}/spans", timeout=30) as answer:
            return int(answer.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def receive() -> None:
    """``python -m bench.telemetry receive``: serve until terminated; prints the endpoint first."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    count = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(str(count[0]).encode(), "text/plain")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/v1/traces":
                request = ExportTraceServiceRequest.FromString(body)
                count[0] += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
                answer = ExportTraceServiceResponse().SerializeToString()
            else:
                answer = ExportMetricsServiceResponse().SerializeToString()
            self._answer(answer, "application/x-protobuf")

        def _answer(self, data: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def _nothing() -> None:
    return None


def _configure(mode: str) -> tuple[Callable[[], None], Callable[[], None], _Receiver | None]:
    """Telemetry as ``mode`` says; returns what flushes it after a run, what shuts it down, and the
    receiver if any."""
    from engine.telemetry import configure_telemetry

    if mode == OFF:
        configure_telemetry(None)
        return _nothing, _nothing, None
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    if mode == SDK:
        configure_telemetry(TracerProvider(), MeterProvider())
        return _nothing, _nothing, None
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    receiver = _Receiver()
    tracer_provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces")
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{receiver.endpoint}/v1/metrics"))
    meter_provider = MeterProvider(metric_readers=[reader])
    configure_telemetry(tracer_provider, meter_provider)

    def flush() -> None:
        assert tracer_provider.force_flush(30_000)

    def shutdown() -> None:
        tracer_provider.shutdown()
        meter_provider.shutdown()

    return flush, shutdown, receiver


def run(n: int = 1000, reps: int = 7, *, mode: str = OFF, log: Callable[[str], None] = print) -> list[Row]:
    from engine import InMemoryRunner
    from engine.telemetry.state import resolve_again

    flush, shutdown, receiver = _configure(mode)
    workflow = _ours_workflow("chain", n)
    loop = asyncio.new_event_loop()
    runs = 0

    def prepare() -> Callable[[], None]:
        runner = InMemoryRunner()

        def once() -> None:
            nonlocal runs
            result = loop.run_until_complete(runner.run(workflow, 0))
            assert result.status == "completed" and result.outputs == [n], result.outputs
            flush()
            runs += 1

        return once

    extra: dict[str, Any] = {"steps": n}
    try:
        samples = [s / n * 1e6 for s in timed(prepare, reps)]
        if receiver is not None:
            # Every span of every run arrived (the run's span and one per step): none was dropped.
            exported = receiver.spans()
            assert exported == runs * (n + 1), (exported, runs, n)
            extra["spans_exported"] = exported
    finally:
        loop.close()
        shutdown()
        resolve_again()
        if receiver is not None:
            receiver.stop()
    row = Row("telemetry", "chain", mode, n, "us/step", samples, extra=extra)
    log(f"  telemetry {mode:32} min {row.best:8.1f}  median {row.median:8.1f} us/step")
    return [row]


if __name__ == "__main__" and sys.argv[1:] == ["receive"]:
    receive()
