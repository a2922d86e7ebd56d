"""Calling user functions as the Python worker does: bindings by parameter name, an optional
`context: func.Context`, sync functions in a thread pool, async ones on the event loop, and the
Core Tools "Executing / Executed" log lines around every call."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import os
import random
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.functions as func
from azure.functions import _abc

from devhost.console import app_logs, host_logs

# Invocation ids (context.invocation_id, the Id of the console lines) are GUIDs, as the host's are, and
# only need to be unique: nothing relies on them being unguessable. uuid.uuid4() reads os.urandom for
# each, a system call that was most of an id's cost on a busy VM (one id per activity of a 10,000-item
# map). A generator seeded once from os.urandom gives the same 122 random bits per id, with no
# likelier a repeat; its getrandbits is one C call under the GIL, safe from every thread.
_id_bits = random.Random(os.urandom(32))
if hasattr(os, "register_at_fork"):  # a forked child must not hand out its parent's next ids
    os.register_at_fork(after_in_child=lambda: _id_bits.seed(os.urandom(32)))
_VERSION_4 = 0x4000 << 64  # version nibble 4 ...
_VARIANT_RFC_4122 = 0x8000 << 48  # ... and variant bits 10, as uuid.uuid4() sets them
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))


def new_invocation_id() -> str:
    """A random version-4 UUID in its usual text form (what ``str(uuid.uuid4())`` looks like)."""
    digits = f"{_id_bits.getrandbits(128) & _CLEAR | _VERSION_4 | _VARIANT_RFC_4122:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _after_gathered(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """A sync function in its thread: the console lines gathered so far (its Executing line among them)
    are written first, so what it prints follows them; of many functions started in one loop turn, the
    first to run writes them all."""
    host_logs.write_gathered()
    return fn(**kwargs)


class FailedAttempt(_abc.RpcException):
    """The exception of the attempt a retry follows (the worker's RpcException)."""

    def __init__(self, exc: BaseException) -> None:
        self._exc = exc

    @property
    def source(self) -> str:
        """The module of the exception's type."""
        return type(self._exc).__module__

    @property
    def stack_trace(self) -> str:
        """The exception's traceback, as text."""
        return "".join(traceback.format_exception(self._exc))

    @property
    def message(self) -> str:
        """The exception as ``Type: message``."""
        return f"{type(self._exc).__name__}: {self._exc}"


class Retry(_abc.RetryContext):
    """``context.retry_context`` under a retry policy: which retry this is (0: the first attempt)."""

    def __init__(self, retry_count: int, max_retry_count: int, failed: BaseException | None) -> None:
        self._retry_count = retry_count
        self._max_retry_count = max_retry_count
        self._failed = failed

    @property
    def retry_count(self) -> int:
        """Which retry this is (0: the first attempt)."""
        return self._retry_count

    @property
    def max_retry_count(self) -> int:
        """How many retries the policy allows."""
        return self._max_retry_count

    @property
    def exception(self) -> Any:
        """The failure of the attempt before this one (None on the first)."""
        return FailedAttempt(self._failed) if self._failed is not None else None


class InvocationContext(func.Context):
    """What the worker passes as `context` (func.Context)."""

    def __init__(
        self, invocation_id: str, function_name: str, function_directory: str, retry: Retry | None = None
    ) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._retry = retry

    @property
    def invocation_id(self) -> str:
        """This invocation's id, as its log lines show it."""
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        """None: devhost keeps no per-invocation thread-local storage."""
        return None

    @property
    def function_name(self) -> str:
        """The function's name."""
        return self._function_name

    @property
    def function_directory(self) -> str:
        """The app folder."""
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        """None: devhost passes no distributed trace context."""
        return None

    @property
    def retry_context(self) -> Any:
        """The retry context under a retry policy (else None)."""
        return self._retry


class Invoker:
    """Calls the app's functions as the worker does, sync ones in a pool of ``threads`` threads."""

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
        retry: Retry | None = None,
    ) -> Any:
        """Run the function; its exception propagates after the "Failed" log line."""
        invocation_id = new_invocation_id()
        if wants_context:
            kwargs = {**kwargs, "context": InvocationContext(invocation_id, name, self.app_dir, retry)}
        if log:
            host_logs.executing(name, reason, invocation_id)
        started = time.perf_counter()
        ok = False
        try:
            # The app's log records name the function they come from (app_logs); a thread of the pool
            # runs the call in a copy of this context, where the function is set.
            with app_logs.invocation(name):
                if inspect.iscoroutinefunction(fn):
                    host_logs.write_gathered()  # what the function prints follows its Executing line
                    result = await fn(**kwargs)
                else:
                    loop = asyncio.get_running_loop()
                    context = contextvars.copy_context()
                    result = await loop.run_in_executor(self.pool, context.run, _after_gathered, fn, kwargs)
                    if inspect.isawaitable(result):
                        result = await result
            ok = True
            return result
        finally:
            if log:
                host_logs.executed(name, ok, invocation_id, (time.perf_counter() - started) * 1000)

    def close(self) -> None:
        """Stop the pool without waiting for the functions still running in it."""
        self.pool.shutdown(wait=False, cancel_futures=True)
