"""THE seam to a durable task SDK: the few orchestration-context calls the orchestrator makes.

The orchestrator (``engine.durable.orchestrator``) sees only ``OrchestrationContext``. ``AzureContext``
adapts azure-functions-durable's context to it; ``engine.durable.fold`` implements it over a recorded
history. A second backend (durabletask-python, say) is one more adapter of this protocol.
"""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from engine.core.jsontext import decoded


class DurableTask(Protocol):
    """A task the orchestrator yields; a timer task can also be cancelled."""

    @property
    def is_completed(self) -> bool:
        """Whether the task has completed (succeeded or failed)."""

    @property
    def result(self) -> Any:
        """The task's value once completed; a failed task's is its exception."""

    def cancel(self) -> None:
        """Cancel the task (a timer): it no longer keeps the orchestration waiting."""


class OrchestrationContext(Protocol):
    """Times are timezone-aware UTC; ``get_input`` is the decoded JSON the execution started with."""

    @property
    def instance_id(self) -> str:
        """The instance id of the orchestration being run."""

    @property
    def current_utc_datetime(self) -> datetime:
        """Replay-safe time: when the episode the code has reached began, the same on every replay."""

    @property
    def is_replaying(self) -> bool:
        """Whether the code is replaying history it already recorded (telemetry reports only new work)."""

    def get_input(self) -> Any:
        """The input the execution started with, decoded from JSON."""

    def call_activity(self, name: str, input_: Any) -> DurableTask:
        """Schedule activity ``name`` with ``input_``."""

    def call_sub_orchestrator(self, name: str, input_: Any, instance_id: str | None = None) -> DurableTask:
        """Start orchestration ``name`` as a child of this one, under ``instance_id`` when given."""

    def create_timer(self, fire_at: datetime) -> DurableTask:
        """A durable timer that fires at ``fire_at``."""

    def wait_for_external_event(self, name: str) -> DurableTask:
        """A task that completes when event ``name`` is raised to the instance, with its data."""

    def task_all(self, tasks: Sequence[DurableTask]) -> DurableTask:
        """A task that completes when every one of ``tasks`` has (or when the first of them fails)."""

    def task_any(self, tasks: Sequence[DurableTask]) -> DurableTask:
        """A task that completes when the first of ``tasks`` does; its result is that task."""

    def continue_as_new(self, input_: Any) -> None:
        """End this execution and start the instance again with ``input_`` (and a fresh history)."""

    def set_custom_status(self, status: Any) -> None:
        """Set the instance's custom status, which status queries show."""


# Every episode of an execution reads the same input again: after continue-as-new, a checkpoint that
# carries the timeline's trail (about 10 KB at most). The SDK's reading of each such text is kept as
# marshal bytes (plain JSON data, in the same order) and handed out as a fresh copy, which costs about a
# third of parsing it again (bench/NOTES.md). Short inputs parse faster than they hash and copy.
_INPUTS: dict[str, bytes] = {}
_INPUTS_KEPT = 64
_INPUT_KEPT_FROM = 1024  # characters


class AzureContext:
    """``azure.durable_functions.DurableOrchestrationContext`` as an ``OrchestrationContext``.

    It smooths the SDK's quirks: its clock may be naive (and its timers must then be naive too), and the
    client double-encodes inputs as JSON text. Calls without a quirk are the SDK's own bound methods.
    """

    def __init__(self, sdk_context: Any) -> None:
        self._sdk = sdk_context
        self.call_activity = sdk_context.call_activity
        self.call_sub_orchestrator = sdk_context.call_sub_orchestrator
        self.wait_for_external_event = sdk_context.wait_for_external_event
        self.task_all = sdk_context.task_all
        self.task_any = sdk_context.task_any
        self.continue_as_new = sdk_context.continue_as_new
        self.set_custom_status = sdk_context.set_custom_status

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
        """The input, decoded; a long input read again in a later episode is copied, not parsed again."""
        text = getattr(self._sdk, "_input", None)  # the SDK keeps the input as its JSON text
        if (
            not isinstance(text, str)
            or len(text) < _INPUT_KEPT_FROM
            or getattr(self._sdk, "_input_expected_type", None) is not None
        ):
            return decoded(self._sdk.get_input())
        kept = _INPUTS.get(text)
        if kept is not None:
            return decoded(marshal.loads(kept))  # a fresh copy: the orchestrator changes what it reads
        value = self._sdk.get_input()
        try:
            packed = marshal.dumps(value)
        except ValueError:  # not plain JSON data (an object the SDK's decoder made): not kept
            return decoded(value)
        if len(_INPUTS) >= _INPUTS_KEPT:
            _INPUTS.clear()
        _INPUTS[text] = packed
        return decoded(value)

    def create_timer(self, fire_at: datetime) -> DurableTask:
        """The SDK's timer, its time naive when the SDK's clock is."""
        # The SDK compares a timer's time with its own clock, naive or aware: give it the same kind.
        if self._sdk.current_utc_datetime.tzinfo is None:
            fire_at = fire_at.astimezone(UTC).replace(tzinfo=None) if fire_at.tzinfo else fire_at
        return self._sdk.create_timer(fire_at)  # type: ignore[no-any-return]


def aware(moment: datetime) -> datetime:
    """``moment`` with UTC as its zone when it has none."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
