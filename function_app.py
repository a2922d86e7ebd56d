"""The Functions app: a Durable Functions app serving every workflow in ``workflows.ALL``."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
