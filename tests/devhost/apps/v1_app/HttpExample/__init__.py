"""A Python v1 programming model function: function.json beside its script."""

from __future__ import annotations

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("v1")
