"""A loopback OTLP/HTTP receiver: a real HTTP server decoding the protobuf export requests it is sent.

Point ``OTEL_EXPORTER_OTLP_ENDPOINT`` at ``receiver.endpoint`` (or give the SDK's OTLP exporters
``receiver.traces_url`` / ``receiver.metrics_url``); ``receiver.spans`` and ``receiver.points(name)`` are what
arrived, decoded.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


@dataclass(frozen=True)
class Event:
    name: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    status: int  # 0 unset, 1 ok, 2 error
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    events: list[Event]
    resource: dict[str, Any]


@dataclass(frozen=True)
class Point:
    """One data point of a metric: a sum's value, or a histogram's count and sum."""

    metric: str
    unit: str
    attributes: dict[str, Any]
    value: float
    count: int = 0
    resource: dict[str, Any] = field(default_factory=dict)


@dataclass
class Receiver:
    port: int = 0
    spans: list[Span] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # paths, in arrival order
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def traces_url(self) -> str:
        return f"{self.endpoint}/v1/traces"

    @property
    def metrics_url(self) -> str:
        return f"{self.endpoint}/v1/metrics"

    def take(self, path: str, body: bytes) -> bytes:
        if path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            spans = list(_spans(request))
            with self._lock:
                self.requests.append(path)
                self.spans.extend(spans)
            return ExportTraceServiceResponse().SerializeToString()
        if path == "/v1/metrics":
            metrics_request = ExportMetricsServiceRequest.FromString(body)
            points = list(_points(metrics_request))
            with self._lock:
                self.requests.append(path)
                self.points.extend(points)
            return ExportMetricsServiceResponse().SerializeToString()
        raise KeyError(path)

    def metric(self, name: str) -> list[Point]:
        with self._lock:
            return [p for p in self.points if p.metric == name]

    def total(self, name: str, *, count: bool = False, **attributes: Any) -> float:
        """A metric's value summed over its series whose attributes include ``attributes``: the last
        cumulative point of each series (one series per exporting process and attribute set).
        ``count``: a histogram's count rather than its sum."""
        last: dict[tuple[Any, ...], Point] = {}
        for point in self.metric(name):
            if all(point.attributes.get(k) == v for k, v in attributes.items()):
                series = (point.resource.get("service.instance.id"), tuple(sorted(point.attributes.items())))
                last[series] = point
        return sum(p.count if count else p.value for p in last.values())

    def wait_for(self, condition: Callable[[Receiver], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                names = sorted({s.name for s in self.spans})
                raise TimeoutError(f"the receiver did not get what was expected; spans so far: {names}")
            time.sleep(0.05)


def _spans(request: ExportTraceServiceRequest) -> Iterator[Span]:
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield Span(
                    name=span.name,
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_id=span.parent_span_id.hex(),
                    kind=span.kind,
                    status=span.status.code,
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    attributes=_attributes(span.attributes),
                    events=[Event(e.name, _attributes(e.attributes)) for e in span.events],
                    resource=resource,
                )


def _points(request: ExportMetricsServiceRequest) -> Iterator[Point]:
    for resource_metrics in request.resource_metrics:
        resource = _attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind == "sum":
                    for p in metric.sum.data_points:
                        value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                        yield Point(metric.name, metric.unit, _attributes(p.attributes), value, 0, resource)
                elif kind == "histogram":
                    for h in metric.histogram.data_points:
                        attributes = _attributes(h.attributes)
                        yield Point(metric.name, metric.unit, attributes, h.sum, h.count, resource)
                elif kind == "gauge":
                    for p in metric.gauge.data_points:
                        value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                        yield Point(metric.name, metric.unit, _attributes(p.attributes), value, 0, resource)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            encoding = (self.headers.get("Content-Encoding") or "").lower()
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            try:
                answer = receiver.take(self.path, body)
            except KeyError:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


class running_receiver:
    """``with running_receiver() as receiver:`` a receiver on a free loopback port, in a thread."""

    def __enter__(self) -> Receiver:
        self.receiver = Receiver()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.receiver))
        self.receiver.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="otlp-receiver", daemon=True)
        self.thread.start()
        return self.receiver

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


__all__ = ["Event", "Point", "Receiver", "Span", "running_receiver"]
