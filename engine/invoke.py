"""One attempt of one executor: call its handler (async, or sync in a thread) and validate its output."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.model import Executor, StepContext


async def invoke(executor: Executor[Any, Any], message: Any, ctx: StepContext, *, in_thread: bool) -> Any:
    """The validated output, or ``None`` when the executor sends nothing. Exceptions propagate."""
    if executor.is_async:
        produced = await executor.handle(message, ctx)  # type: ignore[misc]
    elif in_thread:
        produced = await asyncio.to_thread(executor.handle, message, ctx)
    else:
        produced = executor.handle(message, ctx)
    return None if produced is None else executor.output_adapter.validate_python(produced)
