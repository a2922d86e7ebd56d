"""Strict JSON schema for structured output and tool parameters."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from engine.agents import Agent, UnsupportedSchemaError, strict_json_schema
from engine.agents.errors import AgentRef, AgentRequestError, AgentTransientError
from engine.core.retry import classify
from tests.agents.models import Ticket, Triage


class Address(BaseModel):
    city: str = Field(min_length=1)


class Customer(BaseModel):
    """A customer."""

    name: str
    home: Address = Field(description="where they live")
    work: Address | None = None
    kind: Literal["person"] = "person"
    score: float = Field(default=0.5, ge=0, le=1)


def walk(schema: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        found.append(schema)
        for value in schema.values():
            found += walk(value)
    elif isinstance(schema, list):
        for value in schema:
            found += walk(value)
    return found


def test_objects_are_closed_and_fully_required() -> None:
    schema = strict_json_schema(Customer)
    assert schema["required"] == ["name", "home", "work", "kind", "score"]
    objects = [s for s in walk(schema) if s.get("type") == "object"]
    assert objects and all(s["additionalProperties"] is False for s in objects)
    assert all(sorted(s["required"]) == sorted(s["properties"]) for s in objects)


def test_constraints_become_hints_and_defaults_go() -> None:
    schema = strict_json_schema(Customer)
    score = schema["properties"]["score"]
    assert score == {"title": "Score", "type": "number", "description": "minimum: 0; maximum: 1"}
    assert schema["properties"]["kind"]["enum"] == ["person"]
    assert not any(k in s for s in walk(schema) for k in ("default", "const", "minLength", "minimum"))


def test_ref_with_a_description_is_inlined() -> None:
    home = strict_json_schema(Customer)["properties"]["home"]
    assert "$ref" not in home
    assert home["description"] == "where they live"
    assert home["properties"]["city"]["description"] == "minLength: 1"
    assert home["additionalProperties"] is False


def test_nullable_reference_stays_a_reference() -> None:
    work = strict_json_schema(Customer)["properties"]["work"]
    assert work == {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}]}


def test_the_models_own_schema_is_untouched() -> None:
    before = Customer.model_json_schema()
    strict_json_schema(Customer)
    assert Customer.model_json_schema() == before


class WithDict(BaseModel):
    counts: dict[str, int]


class WithTuple(BaseModel):
    pair: tuple[int, int]


@pytest.mark.parametrize(("model", "why"), [(WithDict, "open mapping"), (WithTuple, "a tuple")])
def test_unsupported_shapes_fail_when_the_agent_is_defined(model: type[BaseModel], why: str) -> None:
    with pytest.raises(UnsupportedSchemaError, match=f"{model.__name__}.*{why}"):
        Agent("a", instructions="x", input_type=Ticket, output_type=model)


def test_output_type_must_be_a_model() -> None:
    with pytest.raises(TypeError, match="output_type must be a pydantic model"):
        Agent("a", instructions="x", input_type=Ticket, output_type=str)  # type: ignore[arg-type]


def test_agent_fits_the_executor_conventions() -> None:
    agent = Agent(
        "triage", instructions="Classify tickets.\nCarefully.", input_type=Ticket, output_type=Triage
    )
    assert agent.id == "triage"
    assert agent.description == "Classify tickets."
    assert agent.is_async is True
    assert agent.input_type is Ticket and agent.output_type is Triage
    assert agent.output_adapter.validate_python({"category": "other", "urgent": False, "summary": "s"})
    assert agent.retry is not None and agent.retry.max_attempts == 3
    assert "AgentOutputError" in {t.__name__ for t in agent.retry.non_retryable}
    ref = AgentRef("triage", "m")
    assert classify(AgentRequestError(ref, "bad", status_code=400), agent.retry).retryable is False
    assert classify(AgentTransientError(ref, "busy"), agent.retry).retryable is True
