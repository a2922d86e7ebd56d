"""THE stream store seam: what an agent step writes as it writes it, kept outside the orchestration history.

A stream belongs to one step of one run (its instance id) and one *attempt*: a number the store gives out,
1, 2, ... per step, each time a writer opens a stream (``open``). A writer is named by a key (a model
call's idempotency key and call attempt): opening with the same key again (the same call attempt run
again, after a crash) returns the same attempt, so its chunks keep their offsets. A new key (a retried
call, the step's next model call) gets a new attempt, and a reader following the step is told so.

Chunks have offsets 1, 2, ... within their attempt. ``append`` stores a chunk at its offset only if the
offset is free (idempotent: the same text again is a no-op; different text there is refused, and the
writer starts a new attempt, see ``StreamWriter``). A chunk is stored (committed) before any reader can
see it. ``read`` gives the chunks after an offset; ``wait_change`` waits until the step's streams may
have changed. Streams are written from activities and in-process runners only, never from orchestrator
code. Adapters: ``MemoryStreamStore`` (here: one process), and in ``engine.streams`` SQLite (devhost)
and Azure Table storage (the app's Storage account).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection
from typing import Protocol

from pydantic import BaseModel, Field


class StreamChunk(BaseModel):
    """One chunk of a stream: its offset in its attempt (1, 2, ...) and its text."""

    offset: int
    text: str


class StreamRead(BaseModel):
    """What a read of a step's stream gives: the attempt read (None: none yet), the chunks after the
    offset asked for, the offset to read after next, and whether that attempt's stream has ended."""

    attempt: int | None
    chunks: list[StreamChunk] = Field(default_factory=list)
    next: int = 0
    done: bool = False


class StreamStore(Protocol):
    """Where streams are kept (see the module doc)."""

    async def open(self, instance_id: str, step: str, writer: str) -> int:
        """The attempt for ``writer``: the one it opened before, else a new one (the step's newest)."""
        ...

    async def append(self, instance_id: str, step: str, attempt: int, offset: int, text: str) -> bool:
        """Store ``text`` at ``offset`` unless a chunk is there; False when a different text is there."""
        ...

    async def finish(self, instance_id: str, step: str, attempt: int) -> None:
        """Mark the attempt's stream done: no chunk follows."""
        ...

    async def latest(self, instance_id: str, step: str) -> int | None:
        """The step's newest attempt, None when it has no stream."""
        ...

    async def read(self, instance_id: str, step: str, attempt: int, after: int) -> StreamRead:
        """The attempt's chunks with an offset above ``after``, in order."""
        ...

    async def purge(self, instance_id: str, steps: Collection[str] | None = None) -> int:
        """Delete every stream of the run (only those kept under ``steps``, when given); how many chunks
        went."""
        ...

    async def runs(self) -> dict[str, set[str]]:
        """Every run with a stream here (its instance id), with the names its streams are kept under (the
        sweep's listing: ``engine.streams.sweep``)."""
        ...

    async def wait_change(self, instance_id: str, step: str, timeout: float) -> None:
        """Return when the step's streams may have changed, or after ``timeout`` seconds."""
        ...


class MemoryStreamStore:
    """Streams in this process's memory: for the in-memory runner and tests."""

    def __init__(self) -> None:
        self._writers: dict[tuple[str, str], dict[str, int]] = {}
        self._chunks: dict[tuple[str, str, int], dict[int, str]] = {}
        self._done: set[tuple[str, str, int]] = set()
        self._changed: dict[tuple[str, str], asyncio.Event] = {}

    def _touch(self, instance_id: str, step: str) -> None:
        event = self._changed.pop((instance_id, step), None)
        if event is not None:
            event.set()

    async def open(self, instance_id: str, step: str, writer: str) -> int:
        """See ``StreamStore.open``."""
        writers = self._writers.setdefault((instance_id, step), {})
        if writer not in writers:
            writers[writer] = len(writers) + 1
            self._touch(instance_id, step)
        return writers[writer]

    async def append(self, instance_id: str, step: str, attempt: int, offset: int, text: str) -> bool:
        """See ``StreamStore.append``."""
        chunks = self._chunks.setdefault((instance_id, step, attempt), {})
        if offset in chunks:
            return chunks[offset] == text
        chunks[offset] = text
        self._touch(instance_id, step)
        return True

    async def finish(self, instance_id: str, step: str, attempt: int) -> None:
        """See ``StreamStore.finish``."""
        self._done.add((instance_id, step, attempt))
        self._touch(instance_id, step)

    async def latest(self, instance_id: str, step: str) -> int | None:
        """See ``StreamStore.latest``."""
        writers = self._writers.get((instance_id, step))
        return len(writers) if writers else None

    async def read(self, instance_id: str, step: str, attempt: int, after: int) -> StreamRead:
        """See ``StreamStore.read``."""
        key = (instance_id, step, attempt)
        return contiguous(attempt, sorted(self._chunks.get(key, {}).items()), after, key in self._done)

    async def purge(self, instance_id: str, steps: Collection[str] | None = None) -> int:
        """See ``StreamStore.purge``."""

        def chosen(key: tuple[str, ...]) -> bool:
            return key[0] == instance_id and (steps is None or key[1] in steps)

        gone = 0
        for key in [k for k in self._chunks if chosen(k)]:
            gone += len(self._chunks.pop(key))
            self._done.discard(key)
        for key in [k for k in self._writers if chosen(k)]:
            del self._writers[key]
            self._touch(*key)
        return gone

    async def runs(self) -> dict[str, set[str]]:
        """See ``StreamStore.runs``."""
        found: dict[str, set[str]] = {}
        for instance_id, step in self._writers:
            found.setdefault(instance_id, set()).add(step)
        return found

    async def wait_change(self, instance_id: str, step: str, timeout: float) -> None:
        """See ``StreamStore.wait_change``."""
        event = self._changed.setdefault((instance_id, step), asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


class NoStreams:
    """A store that keeps nothing: writes are accepted and dropped, reads find no stream."""

    async def open(self, instance_id: str, step: str, writer: str) -> int:
        """Always attempt 1 (nothing is recorded)."""
        return 1

    async def append(self, instance_id: str, step: str, attempt: int, offset: int, text: str) -> bool:
        """Dropped."""
        return True

    async def finish(self, instance_id: str, step: str, attempt: int) -> None:
        """Nothing to mark."""

    async def latest(self, instance_id: str, step: str) -> int | None:
        """No stream."""
        return None

    async def read(self, instance_id: str, step: str, attempt: int, after: int) -> StreamRead:
        """No chunk."""
        return StreamRead(attempt=attempt, next=after)

    async def purge(self, instance_id: str, steps: Collection[str] | None = None) -> int:
        """Nothing kept."""
        return 0

    async def runs(self) -> dict[str, set[str]]:
        """None kept."""
        return {}

    async def wait_change(self, instance_id: str, step: str, timeout: float) -> None:
        """Nothing changes: waits ``timeout``."""
        await asyncio.sleep(timeout)


def contiguous(attempt: int, rows: list[tuple[int, str]], after: int, done: bool) -> StreamRead:
    """The chunks of ``rows`` (offset, text; sorted) after ``after``, stopping at the first gap (a chunk
    written out of order is shown once those before it are), and ``done`` only when none is missing."""
    chunks: list[StreamChunk] = []
    expected = after + 1
    complete = True
    for offset, text in rows:
        if offset <= after:
            continue
        if offset != expected:
            complete = False
            break
        chunks.append(StreamChunk(offset=offset, text=text))
        expected += 1
    return StreamRead(attempt=attempt, chunks=chunks, next=expected - 1, done=done and complete)


class StreamWriter:
    """One writer's stream: opened on the first chunk, each chunk appended at the next offset, finished.

    When a chunk's offset holds a different text (the same call attempt run again, after a crash, and the
    model answering otherwise this time), the writer opens a new attempt and writes its text from the
    start there: a reader never sees a chunk change, and is told a new attempt began.
    """

    def __init__(self, store: StreamStore, instance_id: str, step: str, writer: str) -> None:
        self.store = store
        self.instance_id = instance_id
        self.step = step
        self._writer = writer
        self._reruns = 0
        self._texts: list[str] = []
        self.attempt: int | None = None

    async def write(self, text: str) -> None:
        """Append ``text`` as the next chunk (empty text is skipped)."""
        if not text:
            return
        if self.attempt is None:
            self.attempt = await self.store.open(self.instance_id, self.step, self._writer)
        self._texts.append(text)
        offset = len(self._texts)
        if not await self.store.append(self.instance_id, self.step, self.attempt, offset, text):
            await self._reopen()

    async def _reopen(self) -> None:
        while True:
            self._reruns += 1
            writer = f"{self._writer}~{self._reruns}"
            self.attempt = await self.store.open(self.instance_id, self.step, writer)
            for offset, text in enumerate(self._texts, start=1):
                if not await self.store.append(self.instance_id, self.step, self.attempt, offset, text):
                    break
            else:
                return

    async def close(self) -> None:
        """Mark the stream done (nothing to do when nothing was written)."""
        if self.attempt is not None:
            await self.store.finish(self.instance_id, self.step, self.attempt)


_default = MemoryStreamStore()
_chooser: list[Callable[[], StreamStore]] = [lambda: _default]


def stream_store() -> StreamStore:
    """The process's stream store: what the installed chooser picks now (an in-memory one by default)."""
    return _chooser[0]()


def choose_stream_store(chooser: Callable[[], StreamStore]) -> Callable[[], StreamStore]:
    """Make ``chooser`` pick the process's stream store at each use (an app installs one that reads its
    settings, which its host may set after the app is imported); the chooser it replaces."""
    previous = _chooser[0]
    _chooser[0] = chooser
    return previous


def stream_step(step: str, execution: str | None) -> str:
    """The name a step's streams are kept under in the store: the step, and the execution of the run that
    wrote them (its nonce), so a run that reuses a purged run's instance id never reads that run's
    streams, even when the purge bypassed the API; in memory (no nonce), the step alone."""
    return f"{step}@{execution}" if execution else step


def stream_execution(kept: str) -> str | None:
    """The execution (run nonce) a name ``stream_step`` made names; None for a step's own name (memory)."""
    _, at, execution = kept.rpartition("@")
    return execution if at else None


def use_stream_store(store: StreamStore) -> Callable[[], StreamStore]:
    """Make ``store`` the process's stream store; the chooser it replaces."""
    return choose_stream_store(lambda: store)


__all__ = [
    "MemoryStreamStore",
    "NoStreams",
    "StreamChunk",
    "StreamRead",
    "StreamStore",
    "StreamWriter",
    "choose_stream_store",
    "contiguous",
    "stream_execution",
    "stream_step",
    "stream_store",
    "use_stream_store",
]
