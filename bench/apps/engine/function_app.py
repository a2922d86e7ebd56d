"""Our engine's workflow app for the devhost throughput benchmark: a 5-step chain and a wide fan-out."""

from __future__ import annotations

import os

import azure.durable_functions as df
import azure.functions as func

from bench.workflows import fan_out, five_steps
from engine.functions.app import WorkflowApp

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
WIDTH = int(os.environ.get("BENCH_FAN_WIDTH", "1000"))
app.register_functions(WorkflowApp([five_steps, fan_out(WIDTH)]).blueprint)
