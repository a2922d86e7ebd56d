"""Calling user functions as the Python worker does: bindings by parameter name, an optional
`context: func.Context`, sync functions in a thread pool, async ones on the event loop, and the
Core Tools "Executing / Executed" log lines around every call."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.functions as func

from devhost import app_logs, logs


class InvocationContext(func.Context):
    """What the worker passes as `context` (func.Context)."""

    def __init__(self, invocation_id: str, function_name: str, function_directory: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return None

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


class Invoker:
    def __init__(self, app_dir: str, threads: int) -> None:
        self.app_dir = app_dir
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="devhost-fn")

    async def call(
        self,
        name: str,
        fn: Callable[..., Any],
        kwargs: dict[str, Any],
        *,
        reason: str,
        wants_context: bool,
        log: bool = True,
    ) -> Any:
        """Run the function; its exception propagates after the "Failed" log line."""
        invocation_id = str(uuid.uuid4())
        if wants_context:
            kwargs = {**kwargs, "context": InvocationContext(invocation_id, name, self.app_dir)}
        if log:
            logs.executing(name, reason, invocation_id)
        started = time.perf_counter()
        ok = False
        try:
            # The app's log records name the function they come from (app_logs); a thread of the pool
            # runs the call in a copy of this context, where the function is set.
            with app_logs.invocation(name):
                if inspect.iscoroutinefunction(fn):
                    result = await fn(**kwargs)
                else:
                    loop = asyncio.get_running_loop()
                    context = contextvars.copy_context()
                    result = await loop.run_in_executor(self.pool, context.run, lambda: fn(**kwargs))
                    if inspect.isawaitable(result):
                        result = await result
            ok = True
            return result
        finally:
            if log:
                logs.executed(name, ok, invocation_id, (time.perf_counter() - started) * 1000)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
