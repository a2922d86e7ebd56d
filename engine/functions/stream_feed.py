"""The event feed's ``step_streaming`` events: a running step whose stream has begun, announced with the
attempt to read (``GET .../steps/{step}/stream?attempt=``). They stand in the feed while the step runs."""

from __future__ import annotations

from engine.core.streams import stream_step, stream_store
from engine.functions.feed import FeedEvent, RunningStep, feed_event


async def streaming_events(
    instance_id: str, execution: str | None, running: list[RunningStep]
) -> list[FeedEvent]:
    """One ``step_streaming`` event per running step with a stream (of this execution: the run's nonce),
    at the step's start."""
    store = stream_store()
    events: list[FeedEvent] = []
    for step in running:
        attempt = await store.latest(instance_id, stream_step(step.executor, execution))
        if attempt is None or step.since is None:
            continue
        key = f"6stream:{step.superstep:08d}:{step.executor}:{step.ordinal:06d}:{attempt:06d}"
        events.append(
            feed_event(
                step.since,
                key,
                kind="step_streaming",
                executor=step.executor,
                superstep=step.superstep,
                ordinal=step.ordinal,
                attempt=attempt,
                detail=f"steps/{step.executor}/stream?attempt={attempt}",
            )
        )
    return events


__all__ = ["streaming_events"]
