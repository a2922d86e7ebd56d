"""The input and output models the agent tests share."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Ticket(BaseModel):
    id: int
    text: str


class Triage(BaseModel):
    """How to handle a support ticket."""

    category: Literal["billing", "shipping", "other"]
    urgent: bool
    summary: str = Field(max_length=200, description="one sentence")
    order_id: str | None = None


TICKET = Ticket(id=7, text="My order A1 has not arrived")
ANSWER = {"category": "shipping", "urgent": True, "summary": "Order A1 is late.", "order_id": "A1"}
