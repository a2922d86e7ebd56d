"""A durable run's recorded history as the status API shows it (``showHistory``), typed.

That summarised form has no task ids: a completion names its function and, for our step activity,
carries the step's identity in its ``StepResult``. Values arrive as JSON text or as parsed JSON,
depending on the host and the event kind; ``engine.core.jsontext.unwrapped`` reads either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.core.jsontext import iso_time, unwrapped
from engine.core.loop_calls import CallOutcome
from engine.durable.loop_messages import call_failure_in
from engine.durable.step_messages import StepResult, final_failure_in


class HistoryEvent(BaseModel):
    """One entry of ``historyEvents``; fields an event kind does not have stay None."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    type: str = Field(alias="EventType")
    timestamp: datetime | None = Field(default=None, alias="Timestamp")
    function_name: str | None = Field(default=None, alias="FunctionName")
    scheduled_time: datetime | None = Field(default=None, alias="ScheduledTime")
    name: str | None = Field(default=None, alias="Name")
    fire_at: str | None = Field(default=None, alias="FireAt")  # kept as recorded: timers match on it
    input: Any = Field(default=None, alias="Input")
    result: Any = Field(default=None, alias="Result")
    reason: Any = Field(default=None, alias="Reason")
    details: Any = Field(default=None, alias="Details")
    orchestration_status: str | None = Field(default=None, alias="OrchestrationStatus")
    instance_id: str | None = Field(default=None, alias="InstanceId")  # a sub-orchestration's

    @field_validator("timestamp", "scheduled_time", mode="before")
    @classmethod
    def _tolerant_time(cls, value: Any) -> datetime | None:
        # Hosts differ in fractional digits and zone suffixes; an unreadable time is no time.
        return value if isinstance(value, datetime) else iso_time(value)

    @field_validator("fire_at", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str | None:
        return value if isinstance(value, str) else None

    def step_result(self) -> StepResult | None:
        """The ``StepResult`` of a completed step activity, or None when the result is not one."""
        try:
            return StepResult.model_validate(unwrapped(self.result))
        except ValidationError:
            return None

    def call_outcome(self) -> CallOutcome | None:
        """The ``CallOutcome`` of a looping step's call activity (completed, or failed for good)."""
        if self.type == "TaskFailed":
            return call_failure_in(self.reason, self.details)
        try:
            return CallOutcome.model_validate(unwrapped(self.result))
        except ValidationError:
            return None

    def final_failure(self) -> StepResult | None:
        """The ``StepResult`` of a step that failed for good (a ``TaskFailed`` of the step activity)."""
        return final_failure_in(self.reason, self.details)


def read_history(status: Any) -> list[HistoryEvent]:
    """The typed history of a status read with ``show_history`` (the SDK keeps it as ``historyEvents``)."""
    return typed_events(getattr(status, "historyEvents", None) or getattr(status, "history", None) or [])


def typed_events(raw: Any) -> list[HistoryEvent]:
    """``historyEvents`` as JSON gives them, typed; events of shapes this engine does not read left out."""
    events: list[HistoryEvent] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("EventType"), str):
            try:
                events.append(HistoryEvent.model_validate(item))
            except ValidationError:
                continue  # an event of a shape we do not know carries nothing we read
    return events
