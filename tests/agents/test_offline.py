"""The offline model: deterministic, schema-valid answers for many shapes of output model."""

from __future__ import annotations

import datetime
import decimal
import enum
import logging
import re
import uuid
from typing import Annotated, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AnyUrl, BaseModel, Field, Json

from engine.agents import Agent, OfflineModel
from tests.agents.conftest import drive, run_agent, step_context
from tests.agents.models import TICKET, Ticket, Triage


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 5


class Money(BaseModel):
    amount: decimal.Decimal = Field(ge=0, le=1000, decimal_places=2)
    currency: Literal["EUR", "USD"]


class Line(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")
    quantity: int = Field(gt=0, lt=10)
    price: Money


class Order(BaseModel):
    lines: list[Line] = Field(min_length=2, max_length=4)
    note: str | None = None
    tags: set[str] = Field(default_factory=set, min_length=3)


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(ge=1, le=9)


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Pet(BaseModel):
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]
    others: list[Cat | Dog] = []


class Tree(BaseModel):
    label: str
    children: list[Tree] = []
    parent: Tree | None = None


class Constrained(BaseModel):
    code: str = Field(min_length=8, max_length=8)
    short: str = Field(max_length=3)
    long_name: str = Field(min_length=40)
    ratio: float = Field(gt=0, lt=1)
    step: float = Field(ge=10, le=20, multiple_of=2.5)
    count: int = Field(multiple_of=7, ge=1, le=30)
    negative: int = Field(lt=-100)
    small: float = Field(le=-0.5)
    exactly: Literal[42]
    choice: Literal["a", "b", 3]


class Formats(BaseModel):
    when: datetime.datetime
    day: datetime.date
    at: datetime.time
    wait: datetime.timedelta
    id: uuid.UUID
    link: AnyUrl
    payload: Json[list[int]]
    raw: bytes
    color: Color
    level: Level


class Lookup(BaseModel):
    scores: dict[str, int]
    pairs: tuple[int, str]
    anything: object
    flags: list[bool] = Field(max_length=0)


class Empty(BaseModel):
    pass


MODELS = [Triage, Money, Line, Order, Pet, Tree, Constrained, Formats, Lookup, Empty]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_answers_validate_and_repeat(model: type[BaseModel]) -> None:
    offline = OfflineModel()
    first = offline.answer(model, "prompt one")
    model.model_validate_json(first)
    assert offline.answer(model, "prompt one") == first
    model.model_validate_json(offline.answer(model, "prompt two"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt=st.text(max_size=50), model=st.sampled_from(MODELS))
def test_any_input_gives_a_valid_answer(prompt: str, model: type[BaseModel]) -> None:
    model.model_validate_json(OfflineModel().answer(model, prompt))


def test_answers_depend_on_the_input() -> None:
    offline = OfflineModel()
    answers = {offline.answer(Triage, f"ticket {n}") for n in range(5)}
    assert len(answers) > 1


def test_strings_read_as_text() -> None:
    answer = Triage.model_validate_json(OfflineModel().answer(Triage, "x"))
    assert answer.summary.startswith("Summary (offline draft ")


def test_announces_itself_once(caplog: pytest.LogCaptureFixture) -> None:
    offline = OfflineModel()
    with caplog.at_level(logging.WARNING, logger="engine.agents"):
        offline.answer(Triage, "a")
        offline.answer(Triage, "b")
    (record,) = [r for r in caplog.records if r.name == "engine.agents"]
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert "OFFLINE model" in text and "no LLM is called" in text
    for variable in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT"):
        assert variable in text


async def test_agent_uses_the_offline_model_when_nothing_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "")  # empty placeholders configure nothing
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-4o-mini")  # a model alone selects no provider
    agent = Agent("triage", instructions="Classify.", input_type=Ticket, output_type=Triage)
    ctx = step_context(agent)

    first = await agent.handle(TICKET, ctx)
    again = await drive(agent, TICKET)

    assert isinstance(first, Triage) and first == again
    usage = ctx.annotations["agent"]
    assert (usage["model"], usage["provider"], usage["calls"], usage["total_tokens"]) == (
        "offline",
        "offline",
        1,
        0,
    )


PLACEHOLDER = re.compile(r"^[a-z0-9_]+-[0-9a-f]{6}$")  # what strings used to be: body-6a0171


def strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


class Refund(BaseModel):
    order_id: str
    amount: float
    summary: str = Field(max_length=300)


def lookup_order(order_id: str) -> dict[str, object]:
    """Look an order up."""
    return {"order_id": order_id, "amount": 1200.0, "status": "placed"}


def refund_order(order_id: str, amount: float, reason: str) -> dict[str, object]:
    """Refund an order."""
    return {"refunded": amount, "refund_id": f"RF-{order_id[-3:]}"}


async def test_offline_calls_each_tool_once_with_arguments_from_the_conversation_then_answers_from_them() -> (
    None
):
    agent = Agent(
        "refunder",
        instructions="Refund.",
        input_type=dict[str, str],
        output_type=Refund,
        tools=[lookup_order, refund_order],
    )

    result = await run_agent(agent, {"order_id": "ORD-101200", "reason": "Arrived broken"})

    assert result.status == "completed", result.error
    calls = [
        (e.data["name"], e.data.get("arguments"))
        for e in result.events
        if e.kind == "call_completed" and e.data
    ]
    assert calls == [
        ("model", None),
        ("lookup_order", {"order_id": "ORD-101200"}),  # from the input
        ("model", None),
        (
            "refund_order",
            {"order_id": "ORD-101200", "amount": 1200.0, "reason": "Arrived broken"},
        ),  # and lookup's
        ("model", None),
    ]
    [answer] = result.outputs
    assert (answer.order_id, answer.amount) == ("ORD-101200", 1200.0)
    assert answer.summary.startswith("Summary for order id ORD-101200: reason Arrived broken; lookup_order: ")
    assert "refund_order: refunded 1200.0, refund id RF-200" in answer.summary


@pytest.mark.parametrize(
    ("workflow", "body"),
    [
        ("order_cancellation", {"order_id": "ORD-101200", "reason": "Wrong size"}),
        (
            "content_review",
            {"title": "Durable workflows", "author": "ada", "draft": "Durable Functions wait."},
        ),
    ],
)
async def test_what_an_approver_reads_of_the_demos_reads_as_text(
    workflow: str, body: dict[str, object]
) -> None:
    from engine import InMemoryRunner, ManualClock
    from workflows import ALL

    [graph] = [w for w in ALL if w.name == workflow]
    result = await InMemoryRunner(clock=ManualClock()).run(graph, body)

    assert result.status == "waiting_for_approval", result.error
    [asked] = result.pending_approvals
    texts = [s for s in strings(asked.request) if " " in s or PLACEHOLDER.match(s)]
    assert texts, asked.request  # the agents wrote something for the approver
    assert not [s for s in texts if PLACEHOLDER.match(s)], texts
