"""devhost: a local Azure Functions + Durable Functions host for Python v2-model apps."""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
