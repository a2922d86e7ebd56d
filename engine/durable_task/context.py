"""durabletask-python's orchestration context as an ``OrchestrationContext`` (``engine.durable.context``).

The orchestrator (``engine.durable.orchestrator``) yields its own tasks and reads them through the seam's
``DurableTask`` protocol (``result``, ``is_completed``, ``cancel``). durabletask's executor needs its own
``Task`` objects yielded, hands back a task's value (or throws ``TaskFailedError``), and answers
``when_any`` with the winning task. So each SDK task is wrapped here, and ``drive`` runs the orchestrator's
generator inside durabletask's: it yields the SDK task of each of ours and gives ours back what the
Durable Functions SDK would have given (a value, the winning wrapper, or the failure as an exception).

Times: durabletask's clock is naive UTC; ours are aware, so both directions convert.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import UTC, datetime
from typing import Any

from durabletask import task

from engine.durable.context import DurableTask


class StepTaskFailed(Exception):
    """A task that failed: the text the Durable Functions SDK gives (its failure's message and details),
    so the orchestrator reads a failed step's or partition's result from it as it does there."""


def _failure(exc: task.TaskFailedError) -> StepTaskFailed:
    details = exc.details
    return StepTaskFailed(f"{details.message} \n {details.stack_trace or ''}".rstrip())


class _Task:
    """One durabletask task as a ``DurableTask``; ``sdk`` is what durabletask's executor is given."""

    __slots__ = ("sdk",)

    def __init__(self, sdk: task.Task[Any]) -> None:
        self.sdk = sdk

    @property
    def is_completed(self) -> bool:
        return bool(self.sdk.is_complete)

    @property
    def result(self) -> Any:
        # As the Durable Functions SDK: a failed task's result is its exception.
        if self.sdk.is_failed:
            return _failure(self.sdk.get_exception())
        return self.sdk.get_result() if self.sdk.is_complete else None

    def cancel(self) -> None:
        cancel = getattr(self.sdk, "cancel", None)
        if cancel is not None and not self.sdk.is_complete:
            cancel()

    def answer(self, value: Any) -> Any:
        """What the orchestrator is sent for ``value``, durabletask's answer to yielding this task."""
        return value


class _AllTask(_Task):
    """``task_all``: durabletask answers with each child's value; a ``task_any`` child's value is its
    winning SDK task, given back as the orchestrator's own wrapper."""

    __slots__ = ("children",)

    def __init__(self, sdk: task.Task[Any], children: Sequence[_Task]) -> None:
        super().__init__(sdk)
        self.children = list(children)

    def answer(self, value: Any) -> Any:
        return [child.answer(v) for child, v in zip(self.children, value, strict=True)]


class _AnyTask(_Task):
    """``task_any``: durabletask answers with the winning SDK task; the orchestrator compares winners
    with its own tasks by identity, so the winner's wrapper is given back."""

    __slots__ = ("children",)

    def __init__(self, sdk: task.Task[Any], children: Sequence[_Task]) -> None:
        super().__init__(sdk)
        self.children = {id(child.sdk): child for child in children}

    def answer(self, value: Any) -> Any:
        return self.children.get(id(value), value)


def aware(moment: datetime) -> datetime:
    """``moment`` with UTC as its zone when it has none."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def naive(moment: datetime) -> datetime:
    """``moment`` as naive UTC, as durabletask's timers expect it."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


class DurableTaskContext:
    """``durabletask.task.OrchestrationContext`` (and the input it passed) as an ``OrchestrationContext``."""

    def __init__(self, sdk: task.OrchestrationContext, input_: Any) -> None:
        self._sdk = sdk
        self._input = input_

    @property
    def instance_id(self) -> str:
        """The SDK context's instance id."""
        return str(self._sdk.instance_id)

    @property
    def current_utc_datetime(self) -> datetime:
        """The SDK's replay-safe time, made timezone-aware."""
        return aware(self._sdk.current_utc_datetime)

    @property
    def is_replaying(self) -> bool:
        """Whether the SDK is replaying recorded history."""
        return bool(self._sdk.is_replaying)

    def get_input(self) -> Any:
        """The input the execution started with, as ``drive`` decoded it."""
        return self._input

    def call_activity(self, name: str, input_: Any) -> DurableTask:
        """The SDK's activity call, wrapped as our task."""
        return _Task(self._sdk.call_activity(name, input=input_))

    def call_sub_orchestrator(self, name: str, input_: Any, instance_id: str | None = None) -> DurableTask:
        """The SDK's sub-orchestration call, wrapped as our task."""
        return _Task(self._sdk.call_sub_orchestrator(name, input=input_, instance_id=instance_id))

    def create_timer(self, fire_at: datetime) -> DurableTask:
        """The SDK's timer (its time naive UTC), wrapped as our task."""
        return _Task(self._sdk.create_timer(naive(fire_at)))

    def wait_for_external_event(self, name: str) -> DurableTask:
        """The SDK's wait for event ``name``, wrapped as our task."""
        return _Task(self._sdk.wait_for_external_event(name))

    def task_all(self, tasks: Sequence[DurableTask]) -> DurableTask:
        """``when_all`` over the SDK tasks of ours; its result is our tasks' results, in order."""
        ours = [_own(t) for t in tasks]
        return _AllTask(task.when_all([t.sdk for t in ours]), ours)

    def task_any(self, tasks: Sequence[DurableTask]) -> DurableTask:
        """``when_any`` over the SDK tasks of ours; its result is our task that won."""
        ours = [_own(t) for t in tasks]
        return _AnyTask(task.when_any([t.sdk for t in ours]), ours)

    def continue_as_new(self, input_: Any) -> None:
        """Continue the instance as new with ``input_``."""
        self._sdk.continue_as_new(input_)

    def set_custom_status(self, status: Any) -> None:
        """Set the instance's custom status."""
        self._sdk.set_custom_status(status)


def _own(value: Any) -> _Task:
    if not isinstance(value, _Task):
        raise TypeError(f"the orchestrator yielded {type(value).__name__}, not a task of this context")
    return value


def drive(body: Generator[Any, Any, Any]) -> Generator[task.Task[Any], Any, Any]:
    """Run the orchestrator's generator ``body`` inside durabletask's: each task it yields is handed to
    durabletask, and durabletask's answer handed back as the Durable Functions SDK would give it."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            ours = _own(body.throw(error) if error is not None else body.send(value))
        except StopIteration as stop:
            return stop.value
        try:
            value, error = ours.answer((yield ours.sdk)), None
        except task.TaskFailedError as failed:
            value, error = None, _failure(failed)


__all__ = ["DurableTaskContext", "StepTaskFailed", "aware", "drive", "naive"]
