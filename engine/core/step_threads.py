"""The threads sync executors run in: one pool per process, woken as seldom as it can be.

A sync executor (a plain ``def``) runs off the event loop so that it may block (I/O, ``time.sleep``)
without stalling the host or the other steps. ``asyncio.to_thread`` did that per attempt: every sync step
put one job in the loop's default executor, which woke a thread for it, and every result woke the loop
through its self-pipe. Under load each woken thread then fought the loop (and a host's orchestrator
threads) for the GIL, once per step: a 10,000-item map of trivial ``def`` steps took about twice as long
as the same map of ``async def`` steps on devhost (bench/NOTES.md).

Here the pool keeps the number of threads awake, and so the GIL hand-offs, to what the work needs:

* jobs wait in one queue; a worker takes them one at a time until the queue is empty, so quick handlers
  run back to back in one thread's turn with the GIL;
* a job wakes a worker only when none is awake; while jobs wait and none has started for ``STALL_SECONDS``
  (every awake worker is inside a handler that blocks or computes), the pool's watchdog wakes or starts
  one more, up to the pool's size. A handler that blocks holds the jobs behind it up by about that long;
  the pool never has fewer threads than the work that blocks needs, up to its size;
* results go back to the loop that is waiting for them in batches: the loop is woken once when a worker
  runs out of jobs (or by the watchdog, for results a long job would otherwise hold back), not per job.

The size is the Python worker's own for sync functions: ``PYTHON_THREADPOOL_THREAD_COUNT`` when set,
else ``min(32, os.cpu_count() + 4)`` (``ThreadPoolExecutor``'s default, the loop's default executor's,
which ``asyncio.to_thread`` used). Each job runs in a copy of the submitter's ``contextvars`` context, as
with ``asyncio.to_thread`` (the step's span, the function a log record names). A thread cannot be
stopped: a job whose waiter gave up (a step timeout) still runs to its end and its result is dropped; a
job whose waiter gave up before it started is not run.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

POOL_SIZE_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"
# How long jobs may wait while no job starts before the watchdog wakes another worker; a few of the
# interpreter's GIL switch intervals (5 ms), so a worker merely waiting for the GIL is not taken for one
# that blocks.
STALL_SECONDS = 0.02
# How long the watchdog keeps watching an idle pool before it sleeps until the next job.
_WATCH_LINGER_SECONDS = 1.0


def default_size() -> int:
    """``PYTHON_THREADPOOL_THREAD_COUNT`` when it is a positive integer, else ThreadPoolExecutor's default."""
    raw = os.environ.get(POOL_SIZE_SETTING, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return min(32, (os.cpu_count() or 1) + 4)


class _Inbox:
    """Results on their way back to one event loop, handed over in batches."""

    __slots__ = ("__weakref__", "_loop", "_results", "_scheduled", "kick_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._loop: Callable[[], asyncio.AbstractEventLoop | None] = weakref.ref(loop)
        except TypeError:  # a loop type without weak references: held for the process
            self._loop = lambda: loop
        self._results: deque[tuple[asyncio.Future[Any], Any, BaseException | None]] = deque()
        self._scheduled = False
        self.kick_scheduled = False  # a call of StepThreads._kick is due on this loop

    def put(self, future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
        self._results.append((future, result, error))

    def wake(self) -> None:
        """Have the loop take in what is here (once per batch: the flag is cleared when it does)."""
        if self._scheduled or not self._results:
            return
        loop = self._loop()
        if loop is None:
            self._results.clear()
            return
        self._scheduled = True
        try:
            loop.call_soon_threadsafe(self._deliver)
        except RuntimeError:  # the loop is closed: nobody is waiting for these any more
            self._results.clear()

    def _deliver(self) -> None:
        self._scheduled = False  # first: a result put after this line wakes the loop again
        results = self._results
        while results:
            future, result, error = results.popleft()
            if future.cancelled():
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)


class _Job:
    __slots__ = ("args", "context", "fn", "future", "inbox")

    def __init__(
        self,
        future: asyncio.Future[Any],
        inbox: _Inbox,
        context: contextvars.Context,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> None:
        self.future = future
        self.inbox = inbox
        self.context = context
        self.fn = fn
        self.args = args


class StepThreads:
    """A pool of worker threads for sync handlers (see the module's docstring)."""

    def __init__(self, size: int | None = None, *, stall_seconds: float = STALL_SECONDS) -> None:
        self.size = size if size is not None else default_size()
        if self.size < 1:
            raise ValueError(f"a step thread pool needs at least one thread, not {self.size}")
        self._stall = stall_seconds
        self._jobs: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # idle workers wait here
        self._watch = threading.Condition(self._lock)  # the watchdog, while the pool is idle
        self._threads = 0
        self._idle = 0  # workers waiting for a job
        self._awake = 0  # workers taking or running jobs
        self._started = 0  # jobs started so far: the watchdog's sign of progress
        self._watching = False
        self._watchdog_started = False
        self._touched: set[_Inbox] = set()  # inboxes holding results nobody has woken the loop for
        self._inboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Inbox] = (
            weakref.WeakKeyDictionary()
        )
        self._strong_inboxes: dict[int, _Inbox] = {}

    @property
    def threads(self) -> int:
        """Worker threads started so far (they are kept)."""
        return self._threads

    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``fn(*args)`` in a worker thread, in a copy of the current context; its result (or
        exception) comes back as the returned future of the running loop."""
        loop = asyncio.get_running_loop()
        inbox = self._inbox(loop)
        future = loop.create_future()
        self._jobs.append(_Job(future, inbox, contextvars.copy_context(), fn, args))
        with self._lock:
            if self._awake == 0 and not inbox.kick_scheduled:
                # Once per loop turn: the jobs this turn submits wake one worker, after the turn.
                inbox.kick_scheduled = True
                loop.call_soon(self._kick, inbox)
            if not self._watching:
                self._start_watching()
        return future

    def _inbox(self, loop: asyncio.AbstractEventLoop) -> _Inbox:
        try:
            inbox = self._inboxes.get(loop)
        except TypeError:  # a loop type without weak references
            inbox = self._strong_inboxes.get(id(loop))
            if inbox is None:
                inbox = self._strong_inboxes[id(loop)] = _Inbox(loop)
            return inbox
        if inbox is None:
            inbox = self._inboxes[loop] = _Inbox(loop)
        return inbox

    def _kick(self, inbox: _Inbox) -> None:
        inbox.kick_scheduled = False
        with self._lock:
            if self._jobs and self._awake == 0:
                self._add_worker()

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in the pool and await its result."""
        return await self.submit(fn, *args)

    # --- inside the lock ------------------------------------------------------------------------------

    def _add_worker(self) -> bool:
        """Wake an idle worker, or start one; False when every thread the pool may have is awake."""
        if self._idle:
            # Counted here, not by the woken thread: jobs submitted before it runs wake nobody else.
            self._idle -= 1
            self._awake += 1
            self._wake.notify()
            return True
        if self._threads < self.size:
            self._threads += 1
            self._awake += 1
            threading.Thread(target=self._work, name=f"engine-step_{self._threads}", daemon=True).start()
            return True
        return False

    def _start_watching(self) -> None:
        self._watching = True
        if self._watchdog_started:
            self._watch.notify()
        else:
            self._watchdog_started = True
            threading.Thread(target=self._watchdog, name="engine-step-watchdog", daemon=True).start()

    # --- the threads ----------------------------------------------------------------------------------

    def _work(self) -> None:
        jobs, touched = self._jobs, self._touched
        while True:
            try:
                job = jobs.popleft()
            except IndexError:
                for inbox in list(touched):  # out of work: the loops get what is done, once
                    touched.discard(inbox)
                    inbox.wake()
                with self._lock:
                    if jobs:
                        continue
                    self._awake -= 1
                    self._idle += 1
                    self._wake.wait()  # whoever wakes this worker counted it awake
                continue
            self._started += 1
            future = job.future
            if future.cancelled():  # its waiter gave up before it started (to_thread's behaviour too)
                continue
            try:
                result, error = job.context.run(job.fn, *job.args), None
            except StopIteration as exc:  # a future cannot hold a StopIteration (generators say the same)
                result, error = None, RuntimeError(f"StopIteration raised by a sync step: {exc!r}")
            except BaseException as exc:  # handed to the waiter, as asyncio.to_thread does
                result, error = None, exc
            job.inbox.put(future, result, error)
            touched.add(job.inbox)
            del job, future, result, error

    def _watchdog(self) -> None:
        seen = -1
        idle_since: float | None = None
        while True:
            with self._lock:
                if not self._watching:
                    self._watch.wait()
                    seen, idle_since = -1, None
                    continue
                self._watch.wait(self._stall)
                started = self._started
                if self._jobs and started == seen:
                    self._add_worker()  # no job started for a whole period: every awake worker is busy
                seen = started
                if self._jobs or self._awake:
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > _WATCH_LINGER_SECONDS:
                    self._watching = False
            touched = self._touched
            for inbox in list(touched):  # results a long job would otherwise hold back
                touched.discard(inbox)
                inbox.wake()


_pool: StepThreads | None = None
_pool_lock = threading.Lock()


def step_threads() -> StepThreads:
    """The process's pool (made on first use, sized then)."""
    global _pool
    pool = _pool
    if pool is None:
        with _pool_lock:
            pool = _pool
            if pool is None:
                pool = _pool = StepThreads()
    return pool


def _forget_after_fork() -> None:  # a forked child has none of its parent's threads
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
