"""A process configured the way an app is, from its environment alone: ``python -m tests.telemetry.probe``.

It calls ``configure_from_environment()``, runs the telemetry test workflow in memory up to its approval
(the offline model answers no call: no agent runs before the approval), flushes what the global
providers hold, and prints one JSON line: what was configured, and which OpenTelemetry SDK modules the
process imported. With ``--ingestion``, it first starts a loopback server playing Application Insights'
ingestion endpoint and prints the names of the telemetry items it was sent (the Azure Monitor test runs
it in a network namespace of its own, so nothing can leave the machine).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _ingestion() -> tuple[str, list[dict[str, Any]]]:
    items: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                body = gzip.decompress(body)
            if self.path.rstrip("/").endswith("/track"):
                text = body.decode()
                parsed = (
                    json.loads(text)
                    if text.lstrip().startswith("[")
                    else [json.loads(line) for line in text.splitlines() if line.strip()]
                )
                items.extend(parsed)
                answer = {"itemsReceived": len(parsed), "itemsAccepted": len(parsed), "errors": []}
            else:  # live metrics and anything else: accepted, ignored
                answer = {}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", items


def main(argv: list[str]) -> int:
    items: list[dict[str, Any]] = []
    if "--ingestion" in argv:
        url, items = _ingestion()
        os.environ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = (
            f"InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint={url};LiveEndpoint={url}"
        )
    from opentelemetry import metrics, trace

    from engine import InMemoryRunner
    from engine.telemetry import configure_from_environment, current
    from tests.telemetry.workflows import workflow

    configured = configure_from_environment()
    result = asyncio.run(InMemoryRunner().run(workflow, {"order_id": "A-1", "amount": 100.0}))
    provider: Any = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        provider.force_flush(10_000)
    meter_provider: Any = metrics.get_meter_provider()
    if hasattr(meter_provider, "force_flush"):
        meter_provider.force_flush(10_000)
    names = sorted({str(i.get("data", {}).get("baseData", {}).get("name")) for i in items})
    print(
        json.dumps(
            {
                "configured": configured,
                "on": current() is not None,
                "status": result.status,
                "sdk_modules": sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk")),
                "azure_monitor_items": names,
                "azure_monitor_kinds": sorted({str(i.get("name")) for i in items}),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
