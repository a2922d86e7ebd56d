"""Function tools: schema from the signature, calling conventions."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from engine.agents import Tool, tool
from engine.core.executor import StepContext
from tests.agents.conftest import step_context
from tests.agents.models import Ticket, Triage


class Window(BaseModel):
    start: int
    end: int


def search(
    query: Annotated[str, Field(description="words to find")], window: Window, limit: int = 5
) -> list[str]:
    """Search the knowledge base.

    More detail that the model does not need.
    """
    return [f"{query}:{window.start}-{window.end}:{limit}"]


def test_schema_from_signature() -> None:
    definition = tool(search).definition()
    function = definition["function"]
    assert definition["type"] == "function"
    assert function["name"] == "search"
    assert function["description"] == "Search the knowledge base."
    assert function["strict"] is True
    parameters = function["parameters"]
    assert parameters["required"] == ["query", "window", "limit"]
    assert parameters["additionalProperties"] is False
    assert parameters["properties"]["query"] == {
        "description": "words to find",
        "title": "Query",
        "type": "string",
    }
    assert parameters["properties"]["limit"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]


async def test_null_means_the_default_and_sync_tools_run() -> None:
    made = tool(search)
    ctx = step_context(_agent())
    parsed = made.arguments.model_validate_json(
        '{"query": "q", "window": {"start": 1, "end": 2}, "limit": null}'
    )
    arguments = {name: getattr(parsed, name) for name in type(parsed).model_fields}
    assert await made.call(arguments, ctx) == ["q:1-2:5"]


def test_named_tool_and_context_parameter() -> None:
    @tool(name="refund-order", description="Refund an order once.")
    async def refund(order_id: str, ctx: StepContext) -> str:
        return ctx.idempotency_key

    assert isinstance(refund, Tool)
    assert refund.name == "refund-order"
    assert refund.context_parameter == "ctx"
    assert list(refund.definition()["function"]["parameters"]["properties"]) == ["order_id"]


def test_bad_tools_fail_at_definition() -> None:
    def unannotated(x):  # type: ignore[no-untyped-def]
        return x

    def variadic(*items: int) -> int:
        return sum(items)

    def open_mapping(counts: dict[str, int]) -> int:
        return len(counts)

    with pytest.raises(TypeError, match="annotate parameter 'x'"):
        tool(unannotated)
    with pytest.raises(TypeError, match="passable by keyword"):
        tool(variadic)
    with pytest.raises(TypeError, match="open mapping"):
        tool(open_mapping)
    with pytest.raises(ValueError, match="tool name"):
        tool(name="has space")(search)
    with pytest.raises(ValueError, match="tool name"):
        tool(name="search\n")(search)  # the whole name must match, not up to a trailing newline


def test_tool_names_are_unique_per_agent() -> None:
    with pytest.raises(ValueError, match="unique"):
        _agent(tools=[search, tool(name="search")(search)])


def _agent(**options: object):  # type: ignore[no-untyped-def]
    from engine.agents import Agent

    return Agent("a", instructions="x", input_type=Ticket, output_type=Triage, **options)  # type: ignore[arg-type]
