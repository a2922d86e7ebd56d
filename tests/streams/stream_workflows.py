"""The workflow the stream tests run on devhost: one agent step, answered by the offline model."""

from __future__ import annotations

from pydantic import BaseModel, Field

from engine import WorkflowBuilder
from engine.agents import Agent


class Brief(BaseModel):
    topic: str
    audience: str


class Draft(BaseModel):
    title: str = Field(description="the title")
    opening: str = Field(description="the opening paragraph")
    body: str = Field(description="the body")
    closing: str = Field(description="the closing line")


writer = Agent("s_writer", instructions="Write a short piece.", input_type=Brief, output_type=Draft)
s_stream = WorkflowBuilder("s_stream", start=writer, description="stream test: one agent").build()
workflow = s_stream
