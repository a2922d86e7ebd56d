"""The JSON bodies the workflow API takes besides a run's input and an approval's answer, typed once: the
handlers parse them, the request checks validate them before any state is read (``request_checks.py``),
and the OpenAPI document publishes their schemas."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LinkRequest(BaseModel):
    """``POST .../approvals/{requestId}/links``: whom the link is for (``null``: no one in particular,
    only for approvals without named approvers)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    for_: str | None = Field(default=None, alias="for", min_length=1, max_length=200)


class ReasonBody(BaseModel):
    """The body of terminate and rewind (optional)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str | None = Field(default=None, max_length=1000)
