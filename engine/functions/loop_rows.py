"""An agent step's calls and questions, as the timeline's rows and the event feed's events.

Each row comes from the step's own orchestration (``engine.functions.loop_reads``): a call attempt as its
history recorded it (``CallRecord``: when it was scheduled and completed, and what it was asked and
answered), a question to people as the step closed it. The step itself is named by the orchestration's
instance id (``loop_instance_id``: the run, the step's executor, superstep, ordinal and attempt).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from engine.durable.run_snapshot import CallRecord
from engine.functions.feed import FeedEvent, feed_event
from engine.functions.loop_reads import LoopRead
from engine.functions.timeline_model import ApprovalEntry, CallEntry, Entry

CALL_EVENTS = {"model": "model_call", "tool": "tool_call", "list_tools": "tools_listed"}


def step_of(read: LoopRead, run_id: str) -> tuple[int | None, int | None, int | None]:
    """(superstep, ordinal, attempt) of the step whose orchestration ``read`` is."""
    tail = read.instance_id.removeprefix(f"{run_id}:{read.executor}:").split(":")
    try:
        return int(tail[0]), int(tail[1]), int(tail[2].removeprefix("a"))
    except (IndexError, ValueError):
        return None, None, None


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds() * 1000, 1) if start and end else None


def call_entry(record: CallRecord, read: LoopRead, run_id: str, started: datetime | None) -> CallEntry:
    outcome, shown = record.outcome, record.outcome.shown
    superstep, ordinal, step_attempt = step_of(read, run_id)
    return CallEntry(
        executor=read.executor,
        superstep=superstep,
        ordinal=ordinal,
        step_attempt=step_attempt,
        key=outcome.key,
        call=outcome.kind,
        name=outcome.name,
        attempt=outcome.attempt,
        ok=outcome.ok,
        scheduled=record.scheduled,
        completed=record.completed,
        elapsed_ms=_ms(record.scheduled, record.completed),
        offset_ms=_ms(started, record.scheduled),
        duration_ms=round(outcome.duration_ms, 1),
        arguments=shown.get("arguments"),
        result=shown.get("result", shown.get("tools")),
        tool_calls=shown.get("tool_calls"),
        tokens=shown.get("tokens"),
        model=shown.get("model"),
        error=outcome.error,
        step_orchestration=read.instance_id,
    )


def timeline_rows(reads: Iterable[LoopRead], run_id: str, started: datetime | None) -> list[Entry]:
    """Every call of the run's agent steps, and every question they closed, as timeline rows."""
    rows: list[Entry] = []
    for read in reads:
        rows += [call_entry(record, read, run_id, started) for record in read.calls]
        rows += [
            ApprovalEntry(
                request_id=c.request_id,
                approval_id=c.approval_id,
                at=c.at,
                outcome=c.outcome,
                answer=c.answer,
                decided_by=c.decided_by,
                via=c.via,
                signed=c.answer_id is not None,
            )
            for c in read.closed
        ]
    return rows


def feed_events(reads: Iterable[LoopRead], run_id: str) -> list[FeedEvent]:
    """Every call of the run's agent steps as an event (``model_call``, ``tool_call``, ``tools_listed``;
    ``detail`` says what it was asked, what it answered and what it cost), and each question they asked
    and closed (``approval_requested``, ``approval_answered``, ``approval_timed_out``)."""
    events: list[FeedEvent] = []
    for read in reads:
        superstep, ordinal, attempt = step_of(read, run_id)
        step: dict[str, Any] = {"executor": read.executor, "superstep": superstep, "ordinal": ordinal}
        for record in read.calls:
            outcome = record.outcome
            at = record.completed
            if at is None:
                continue
            ids = f"{superstep or 0:08d}:{read.executor}:{ordinal or 0:06d}:{attempt or 0:03d}"
            key = f"1call:{ids}:{outcome.key}:{outcome.attempt:03d}"
            events.append(
                feed_event(
                    at,
                    key,
                    kind=CALL_EVENTS.get(outcome.kind, "tool_call") if outcome.ok else "call_failed",
                    attempt=outcome.attempt,
                    detail=call_detail(record),
                    call=outcome.name,
                    **step,
                )
            )
        for pending in read.pending:
            key = f"4approval:{pending.request_id}:a"
            events.append(
                feed_event(
                    pending.requested_at,
                    key,
                    kind="approval_requested",
                    request_id=pending.request_id,
                    detail=f"before a tool call: {_short(pending.request)}",
                    **{**step, "executor": pending.approval_id},
                )
            )
        for closed in read.closed:
            if closed.requested_at is not None:
                key = f"4approval:{closed.request_id}:a"
                events.append(
                    feed_event(
                        closed.requested_at,
                        key,
                        kind="approval_requested",
                        request_id=closed.request_id,
                        detail="before a tool call",
                        **{**step, "executor": closed.approval_id},
                    )
                )
            answered = closed.outcome == "answered"
            key = f"2approval:{closed.request_id}:b"
            events.append(
                feed_event(
                    closed.at,
                    key,
                    kind="approval_answered" if answered else "approval_timed_out",
                    request_id=closed.request_id,
                    detail=f"{closed.decided_by or 'someone'} via {closed.via}: {_short(closed.answer)}"
                    if answered
                    else None,
                    **{**step, "executor": closed.approval_id},
                )
            )
    return events


def call_detail(record: CallRecord) -> str:
    """One line: what a call was asked, what it answered, how long it took and what it cost."""
    outcome, shown = record.outcome, record.outcome.shown
    took = f"{outcome.duration_ms:.0f} ms"
    if not outcome.ok:
        error = outcome.error
        return f"{error.type}: {error.message}" if error else "failed"
    if outcome.kind == "model":
        tokens = shown.get("tokens") or {}
        cost = f", {tokens['total']} tokens" if tokens.get("total") is not None else ""
        called = ", ".join(f"{c['name']}({c['arguments']})" for c in shown.get("tool_calls") or [])
        said = f"calls {called}" if called else f"answers {_short(shown.get('result'))}"
        return f"{shown.get('model') or outcome.name}: {said} ({took}{cost})"
    if outcome.kind == "tool":
        return f"{_short(shown.get('arguments'))} → {_short(shown.get('result'))} ({took})"
    return f"{shown.get('server', outcome.name)}: {', '.join(shown.get('tools') or [])} ({took})"


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["call_detail", "call_entry", "feed_events", "timeline_rows"]
