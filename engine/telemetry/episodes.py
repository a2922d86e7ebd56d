"""Orchestrator episodes as spans, and approvals opening and closing as their events, without duplicates.

An orchestrator replays its code from the start in every episode. ``traced_episode`` drives the
orchestrator body and watches it at each yield: what happened while the context was replaying was
reported by the episode that did it, so only new work is reported. The episode span starts once the
episode reaches new work (an episode that only replays has none) and ends when the body waits for a task
that is not done, which is where the host ends the episode.

Nothing here flows back into the body: the tasks and values pass through untouched, and the clock read
for the span's start is the tracer's, never the orchestrator's, so replays take the same path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from datetime import datetime
from typing import Any, Protocol

from opentelemetry.trace import Span, Status, StatusCode

from engine.telemetry import names
from engine.telemetry.approvals import approval_closed, approval_opened
from engine.telemetry.propagation import run_context
from engine.telemetry.state import Telemetry, current


class Replaying(Protocol):
    """The one thing an episode's tracing reads of the orchestration context."""

    @property
    def is_replaying(self) -> bool:
        """Whether the orchestrator is replaying recorded history."""


class OpenApproval(Protocol):
    """An approval request the body has open, as the episode reports it."""

    request_id: str
    approval_id: str
    deadline: datetime | None


class ClosedApproval(Protocol):
    """An approval request the body has closed, as the episode reports it."""

    request_id: str
    approval_id: str
    outcome: str
    via: str
    decided_by: str | None


# What the body has done so far: its superstep, its status, its open and its closed approvals.
Progress = tuple[int, str, Sequence[OpenApproval], Sequence[ClosedApproval]]


def traced_episode(
    body: Generator[Any, Any, Any],
    context: Replaying,
    *,
    workflow: str,
    instance_id: str,
    version: str | None,
    traceparent: str | None,
    progress: Callable[[], Progress],
) -> Generator[Any, Any, Any]:
    """``body`` itself, traced: ``yield from traced_episode(body, ...)``."""
    telemetry = current()
    if telemetry is None:
        return (yield from body)
    episode = _Episode(telemetry, context, workflow, instance_id, version, traceparent, progress)
    to_send: Any = None
    to_throw: BaseException | None = None
    while True:
        try:
            task = body.send(to_send) if to_throw is None else body.throw(to_throw)
        except StopIteration as stop:
            episode.ended(None)
            return stop.value
        except BaseException as error:
            episode.ended(error)
            raise
        episode.waits_for(task)
        try:
            to_send, to_throw = (yield task), None
        except GeneratorExit:  # the host dropped the episode (or the body) without finishing it
            body.close()
            episode.abandoned()
            raise
        except BaseException as error:  # a failed task, thrown in by the host
            to_send, to_throw = None, error


class _Episode:
    def __init__(
        self,
        telemetry: Telemetry,
        context: Replaying,
        workflow: str,
        instance_id: str,
        version: str | None,
        traceparent: str | None,
        progress: Callable[[], Progress],
    ) -> None:
        self.telemetry, self.context, self.progress = telemetry, context, progress
        self.workflow, self.instance_id, self.version = workflow, instance_id, version
        self.traceparent = traceparent
        self.started_ns = time.time_ns()
        self.span: Span | None = None
        self.superstep = -1
        self.opened: set[str] = set()
        self.closed = 0

    def waits_for(self, task: Any) -> None:
        live = self._observe()
        if live and not getattr(task, "is_completed", True):
            self._end(None)

    def ended(self, error: BaseException | None) -> None:
        self._observe()
        self._end(error)

    def abandoned(self) -> None:
        self._end(None)

    def _observe(self) -> bool:
        """Report what the body did since the last look, if it did it live; True if it is live."""
        live = not self.context.is_replaying
        superstep, _, open_approvals, closed = self.progress()
        span = self._span() if live else None
        if superstep != self.superstep:  # approvals open only as a superstep starts
            self.superstep = superstep
            for pending in open_approvals:
                if pending.request_id in self.opened:
                    continue
                self.opened.add(pending.request_id)
                if span is not None:
                    approval_opened(
                        self.telemetry,
                        span,
                        workflow=self.workflow,
                        approval_id=pending.approval_id,
                        request_id=pending.request_id,
                        deadline=pending.deadline,
                    )
        if len(closed) > self.closed:
            if span is not None:
                for done in closed[self.closed :]:
                    approval_closed(
                        self.telemetry,
                        span,
                        workflow=self.workflow,
                        approval_id=done.approval_id,
                        request_id=done.request_id,
                        outcome=done.outcome,
                        via=done.via,
                        decided_by=done.decided_by,
                    )
            self.closed = len(closed)
        return live

    def _span(self) -> Span:
        if self.span is None:
            attributes: dict[str, Any] = {names.WORKFLOW: self.workflow, names.INSTANCE: self.instance_id}
            if self.version is not None:
                attributes[names.VERSION] = self.version
            self.span = self.telemetry.tracer.start_span(
                f"orchestrator episode {self.workflow}",
                context=run_context(self.traceparent, self.instance_id),
                attributes=attributes,
                start_time=self.started_ns,
            )
        return self.span

    def _end(self, error: BaseException | None) -> None:
        span = self.span
        if span is None:
            return
        superstep, status, _, _ = self.progress()
        span.update_name(f"orchestrator episode {self.workflow} (superstep {superstep})")
        span.set_attributes({names.SUPERSTEP: superstep, names.RUN_STATUS: status})
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, str(error)[:200]))
            span.set_attribute(names.ERROR_TYPE, type(error).__name__)
        span.end()
        # Should the host hand the body more results in this same episode, that work gets a span of
        # its own from now on.
        self.span = None
        self.started_ns = time.time_ns()
