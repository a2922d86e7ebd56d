"""Durable replay cost: orchestrator CPU of a sequential run of N supersteps, episode by episode.

The real SDK orchestrator handler is driven exactly as the host drives it: devhost's own ``Episode``
builds each episode's context (the whole history of the current execution plus the new
TaskCompleted) and turns the SDK's answer into history and work; the activities run (untimed) and
their results come back as TaskCompleted events; continue-as-new starts a new execution with an
empty history. What is timed is the orchestrator invocation (the worker's trigger conversion and the
SDK handler: history parsing, replay, the user's generator), in CPU seconds of this process.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter, OrchestrationTriggerConverter

from bench.common import Row
from devhost.config.host_settings import HostSettings
from devhost.durable.episode import Episode, InstanceState
from devhost.durable.history import EventType, event, fmt_time
from devhost.durable.replay_bookkeeping import Book
from devhost.durable.task_hub_store import InstanceRecord, WorkItem
from devhost.functions.indexing import FunctionIndex, index_app
from engine.durable.checkpoint import DEFAULT_CONTINUE_EVERY, OrchestratorInput

OURS = f"ours (WorkflowApp, continue-as-new every {DEFAULT_CONTINUE_EVERY})"
HAND = "hand-written azure-functions-durable"
SIZES = (50, 100, 200, 400, 800)


def ours_app(continue_every: int = DEFAULT_CONTINUE_EVERY) -> FunctionIndex:
    from bench.workflows import loop
    from engine.functions.app import WorkflowApp

    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(WorkflowApp([loop], continue_every=continue_every).blueprint)
    return index_app(app)


def hand_app() -> FunctionIndex:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    def hand_chain(context: df.DurableOrchestrationContext) -> Any:
        n = context.get_input()["n"]
        value = 0
        for _ in range(n):
            value = yield context.call_activity("hand_tick", {"value": value})
        return value

    def hand_tick(payload: dict[str, int]) -> int:
        return payload["value"] + 1

    app.orchestration_trigger(context_name="context")(hand_chain)
    app.activity_trigger(input_name="payload")(hand_tick)
    return index_app(app)


class _Host:
    """The little an ``Episode`` asks of its host."""

    def __init__(self) -> None:
        self.next_id = 0
        self.settings = HostSettings()  # devhost's defaults: no orchestration versioning configured

    def alloc_work_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def get_record(self, instance_id: str) -> InstanceRecord | None:
        return None

    def has_orchestrator(self, name: str) -> bool:
        return True

    def has_entity(self, name: str) -> bool:
        return False  # the benchmarked orchestrators use no entities


def drive(index: FunctionIndex, name: str, input_value: Any) -> dict[str, Any]:
    """Run one instance to its end; the orchestrator CPU seconds, episodes, executions, output."""
    loop = asyncio.new_event_loop()
    orchestrator = index.orchestrators[name]
    host = _Host()
    now = datetime(2025, 1, 1, tzinfo=UTC)
    input_text = json.dumps(input_value)
    record = InstanceRecord("bench", name, uuid.uuid4().hex, "Pending", input_text, created=fmt_time(now))
    state = InstanceState(record, [], Book())
    started = event(EventType.ExecutionStarted, now, Name=name, Input=input_text, Version=None)
    msgs = [
        WorkItem(
            host.alloc_work_id(), "bench", "msg", {"event": started, "execution_id": record.execution_id}
        )
    ]
    cpu, episodes, executions, longest = 0.0, 0, 1, 0
    try:
        while msgs:
            now += timedelta(milliseconds=1)
            episode = Episode(host, state, msgs, now)
            msgs = []
            if not episode.begin():
                break
            longest = max(longest, len(state.history))
            begun = time.process_time()
            context = OrchestrationTriggerConverter.decode(
                meta.Datum(episode.context_json, "json"), trigger_metadata=None
            )
            try:
                result, error = orchestrator.fn(**{orchestrator.trigger_param: context}), None
            except Exception as exc:  # the SDK's $OutOfProcData$ failure form
                result, error = None, exc
            cpu += time.process_time() - begun
            episodes += 1
            episode.finish(result, error)
            for item in episode.batch.add_work:
                if item.kind != "activity":
                    msgs.append(item)  # continue-as-new: the new execution's ExecutionStarted
                    executions += 1
                    continue
                payload = item.payload
                activity = index.activities[payload["name"]]
                value = ActivityTriggerConverter.decode(
                    meta.Datum(payload["input"], "json"), trigger_metadata=None
                )
                output = activity.fn(**{activity.trigger_param: value})
                if inspect.isawaitable(output):
                    output = loop.run_until_complete(output)
                text = ActivityTriggerConverter.encode(output, expected_type=None).value
                done = event(EventType.TaskCompleted, now, TaskScheduledId=payload["task_id"], Result=text)
                msgs.append(
                    WorkItem(
                        host.alloc_work_id(),
                        "bench",
                        "msg",
                        {"event": done, "execution_id": payload["execution_id"]},
                    )
                )
    finally:
        loop.close()
    if record.status != "Completed":
        raise RuntimeError(f"{name} ended {record.status}: {record.output}")
    return {
        "cpu": cpu,
        "episodes": episodes,
        "executions": executions,
        "longest_history": longest,
        "output": json.loads(record.output or "null"),
    }


def run(
    sizes: tuple[int, ...] = SIZES,
    reps: int = 3,
    *,
    hand_reps_large: int = 1,
    large: int = 400,
    peers: bool = True,
    log: Callable[[str], None] = print,
) -> list[Row]:
    """``peers`` here is the hand-written orchestrator (it needs no extra package)."""
    rows: list[Row] = []
    ours = ours_app()
    hand = hand_app() if peers else None
    for n in sizes:
        cases: list[tuple[str, FunctionIndex, str, Any, int]] = [
            # The input a start through the workflow API writes (a bare one would be admitted first).
            (OURS, ours, "bench_loop", OrchestratorInput.start({"left": n - 1}).model_dump(mode="json"), reps)
        ]
        if hand is not None:
            cases.append((HAND, hand, "hand_chain", {"n": n}, reps if n < large else hand_reps_large))
        for runner, index, name, value, count in cases:
            if n == sizes[0]:
                drive(index, name, value)  # warm-up: imports and first-call costs
            results = [drive(index, name, value) for _ in range(count)]
            expected = [n - 1] if runner == OURS else n
            assert all(r["output"] == expected for r in results), results[0]["output"]
            row = Row(
                "replay",
                "sequential",
                runner,
                n,
                "s",
                [r["cpu"] for r in results],
                extra={
                    "episodes": results[0]["episodes"],
                    "executions": results[0]["executions"],
                    "longest_history": results[0]["longest_history"],
                },
            )
            log(
                f"  replay N={n:4} {runner:46} min {row.best:7.3f}s  median {row.median:7.3f}s  "
                f"({row.best / n * 1000:.2f} ms/step, {row.extra['executions']} executions)"
            )
            rows.append(row)
    return rows
