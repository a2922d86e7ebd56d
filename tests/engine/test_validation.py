"""``WorkflowBuilder.build()``: every problem it refuses, with messages naming executors and types."""

import collections.abc
import typing
from datetime import timedelta
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from engine import (
    Approval,
    ApprovalDecision,
    Case,
    Executor,
    InMemoryRunner,
    StepContext,
    WorkflowBuilder,
    WorkflowValidationError,
    escalate_to,
    executor,
)
from engine.core.graph import NAME_PATTERN
from engine.core.typecheck import compatible, list_item_type, sendable


class Animal(BaseModel):
    name: str


class Dog(Animal):
    barks: bool = True


class Invoice(BaseModel):
    total: float


@executor
def start(n: int) -> int:
    return n


@executor
def make_text(n: int) -> str:
    return str(n)


@executor
def take_int(n: int) -> int:
    return n


def problems_of(builder: WorkflowBuilder) -> list[str]:
    with pytest.raises(WorkflowValidationError) as caught:
        builder.build()
    assert str(caught.value) == "; ".join(caught.value.problems)
    return caught.value.problems


# --------------------------------------------------------------------------- type mismatches


def test_type_mismatch_along_an_edge_names_both_executors_and_types() -> None:
    problems = problems_of(WorkflowBuilder("mismatch", start=make_text).add_edge(make_text, take_int))
    assert problems == [
        "type mismatch on edge 'make_text' -> 'take_int': 'make_text' emits str but 'take_int' takes int"
    ]


def test_type_mismatch_with_models_names_the_model_types() -> None:
    @executor
    def animal(n: int) -> Animal:
        return Animal(name="x")

    @executor
    def dog_only(d: Dog) -> str:
        return d.name

    problems = problems_of(WorkflowBuilder("models", start=animal).add_edge(animal, dog_only))
    assert problems == [
        "type mismatch on edge 'animal' -> 'dog_only': 'animal' emits Animal but 'dog_only' takes Dog"
    ]


@pytest.mark.parametrize("kind", ["fan_out", "switch", "chain", "conditional"])
def test_every_edge_kind_is_type_checked(kind: str) -> None:
    builder = WorkflowBuilder("kinds", start=make_text)
    if kind == "fan_out":
        builder.add_fan_out(make_text, [take_int])
    elif kind == "switch":
        builder.add_switch(make_text, [Case(lambda s: True, take_int)])
    elif kind == "chain":
        builder.add_chain([make_text, take_int])
    else:
        builder.add_edge(make_text, take_int, when=lambda s: bool(s))
    problems = problems_of(builder)
    assert problems == [
        "type mismatch on edge 'make_text' -> 'take_int': 'make_text' emits str but 'take_int' takes int"
    ]


def test_switch_default_is_type_checked() -> None:
    problems = problems_of(
        WorkflowBuilder("switchdefault", start=start)
        .add_edge(start, make_text)
        .add_switch(make_text, [Case(lambda s: True, "make_text")], default=take_int)
    )
    assert any("'make_text' -> 'take_int'" in p and "emits str" in p for p in problems)


def test_fan_in_target_must_take_a_list() -> None:
    @executor
    def a(n: int) -> int:
        return n

    @executor
    def b(n: int) -> int:
        return n

    @executor
    def agg(n: int) -> int:
        return n

    problems = problems_of(
        WorkflowBuilder("fanin", start=start).add_fan_out(start, [a, b]).add_fan_in([a, b], agg)
    )
    assert problems == [
        "fan-in target 'agg' takes int, not a list: a fan-in delivers list[...] of its sources' outputs"
    ]


def test_fan_in_item_type_must_accept_every_source() -> None:
    @executor
    def good(n: int) -> int:
        return n

    @executor
    def bad(n: int) -> str:
        return str(n)

    @executor
    def agg(items: list[int]) -> int:
        return sum(items)

    problems = problems_of(
        WorkflowBuilder("fanin-items", start=start)
        .add_fan_out(start, [good, bad])
        .add_fan_in([good, bad], agg)
    )
    assert problems == ["type mismatch on edge 'bad' -> 'agg': 'bad' emits str but 'agg' takes list[int]"]


def test_edge_from_an_executor_that_returns_none() -> None:
    @executor
    def quiet(n: int) -> None:
        return None

    problems = problems_of(WorkflowBuilder("quiet", start=quiet).add_edge(quiet, take_int))
    assert problems == ["edge 'quiet' -> 'take_int': 'quiet' returns None, so it sends nothing"]


# --------------------------------------------------------------------------- accepted types


@pytest.mark.parametrize(
    ("produced", "accepted"),
    [
        (Dog, Animal),  # subclass -> base class
        (int, float),
        (int, int | str),  # X -> X | Y
        (Dog, Animal | None),
        (int, Any),
        (Any, int),
        (bool, int),
        (list[Dog], list[Animal]),
        (dict[str, int], dict[str, float]),
        (typing.Annotated[int, "meta"], float),
        (Literal["a", "b"], str),
        (Literal["a"], Literal["a", "b"]),
        (Literal[1, 2], float),
        (int | None, int),  # returning None sends nothing: only the int part travels
        (list[Dog], collections.abc.Sequence[Animal]),
        (dict[str, int], collections.abc.Mapping[str, int]),
        (tuple[int, int], tuple[float, ...]),
    ],
)
def test_accepted_edges_build_and_compatible_says_so(produced: Any, accepted: Any) -> None:
    assert compatible(sendable(produced), accepted)
    src = _executor("src", int, produced)
    dst = _executor("dst", accepted, int)
    wf = WorkflowBuilder("accepted", start=src).add_edge(src, dst).build()
    assert wf.nodes["dst"] is dst


@pytest.mark.parametrize(
    ("produced", "accepted"),
    [
        (Animal, Dog),  # base -> subclass
        (float, int),
        (int | str, int),
        (str, int | float),
        (list[Animal], list[Dog]),
        (list[int], dict[str, int]),
        (Literal["a"], int),
        (Literal["a"], list[int]),
        (Literal["a", "c"], Literal["a", "b"]),
        (tuple[int, ...], tuple[int, int]),
        (collections.abc.Sequence[int], list[int]),
        (str, collections.abc.Sequence[int]),
        (dict[str, int], collections.abc.Iterable[str]),
    ],
)
def test_refused_types(produced: Any, accepted: Any) -> None:
    assert not compatible(sendable(produced), accepted)
    src = _executor("src", int, produced)
    dst = _executor("dst", accepted, int)
    with pytest.raises(WorkflowValidationError, match="type mismatch on edge 'src' -> 'dst'"):
        WorkflowBuilder("refused", start=src).add_edge(src, dst).build()


def test_list_item_type() -> None:
    assert list_item_type(list[int]) is int
    assert list_item_type(collections.abc.Sequence[str]) is str
    assert list_item_type(list) is Any
    assert list_item_type(Any) is Any
    assert list_item_type(int) is None
    assert list_item_type(dict[str, int]) is None


def _executor(id: str, input_type: Any, output_type: Any) -> Executor[Any, Any]:
    from engine.core.executor import FunctionExecutor

    return FunctionExecutor(
        lambda m: m,
        id=id,
        input_type=input_type,
        output_type=output_type,
        takes_context=False,
        retry=None,
        description="",
    )


async def test_int_to_float_edge_runs() -> None:
    @executor
    def count(n: int) -> int:
        return n

    @executor
    def halve(x: float) -> float:
        return x / 2

    wf = WorkflowBuilder("floats", start=count).add_edge(count, halve).build()
    assert (await InMemoryRunner().run(wf, 3)).outputs == [1.5]


async def test_subclass_to_base_edge_runs() -> None:
    @executor
    def fetch(name: str) -> Dog:
        return Dog(name=name)

    @executor
    def greet(a: Animal) -> str:
        return f"hello {a.name}"

    wf = WorkflowBuilder("animals", start=fetch).add_edge(fetch, greet).build()
    assert (await InMemoryRunner().run(wf, "rex")).outputs == ["hello rex"]


# --------------------------------------------------------------------------- graph shape


def test_unreachable_executor_is_named() -> None:
    @executor
    def orphan(n: int) -> int:
        return n

    problems = problems_of(
        WorkflowBuilder("islands", start=start).add_edge(start, take_int).add_edge(orphan, take_int)
    )
    assert problems == ["executor 'orphan' is unreachable from the start executor 'start'"]


def test_duplicate_id() -> None:
    @executor(id="take_int")
    def impostor(n: int) -> int:
        return n

    problems = problems_of(
        WorkflowBuilder("dupes", start=start).add_edge(start, take_int).add_edge(start, impostor)
    )
    assert problems == ["duplicate executor id 'take_int': two different executors share it"]


def test_the_same_executor_used_twice_is_not_a_duplicate() -> None:
    wf = WorkflowBuilder("same", start=start).add_edge(start, take_int).add_edge(start, take_int).build()
    assert list(wf.nodes) == ["start", "take_int"]


def test_unknown_executor_id_string() -> None:
    problems = problems_of(WorkflowBuilder("unknown", start=start).add_edge(start, "ghost"))
    assert "unknown executor id 'ghost': pass the executor object first" in problems


def test_executor_referenced_by_id_after_registration() -> None:
    wf = (
        WorkflowBuilder("byid", start=start).add_edge(start, take_int).add_edge("take_int", make_text).build()
    )
    assert wf.sinks() == frozenset({"make_text"})


@pytest.mark.parametrize("name", ["a", "expense_claim", "Wf-2_b", "x" * 63])
def test_valid_names(name: str) -> None:
    assert WorkflowBuilder(name, start=start).build().name == name
    node = _executor(name, int, int)
    assert WorkflowBuilder("ids", start=node).build().start == name


@pytest.mark.parametrize(
    "name", ["", "1abc", "_abc", "-abc", "has space", "dot.ted", "é", "x" * 64, "abc\n", "a/b"]
)
def test_invalid_workflow_name(name: str) -> None:
    assert not NAME_PATTERN.fullmatch(name)
    problems = problems_of(WorkflowBuilder(name, start=start))
    assert problems == [f"invalid workflow name {name!r}: must match {NAME_PATTERN.pattern}"]


@pytest.mark.parametrize("name", ["", "1abc", "has space", "x" * 64, "abc\n"])
def test_invalid_executor_id(name: str) -> None:
    bad = _executor(name, int, int)
    problems = problems_of(WorkflowBuilder("ids", start=start).add_edge(start, bad))
    assert problems == [f"invalid executor id {name!r}: must match {NAME_PATTERN.pattern}"]


def test_max_supersteps_must_be_positive() -> None:
    problems = problems_of(WorkflowBuilder("bound", start=start, max_supersteps=0))
    assert problems == ["workflow 'bound': max_supersteps must be at least 1"]


def test_fan_in_naming_a_source_twice_and_empty_groups() -> None:
    @executor
    def agg(items: list[int]) -> int:
        return sum(items)

    problems = problems_of(
        WorkflowBuilder("shapes", start=start)
        .add_fan_out(start, [take_int])
        .add_fan_in([take_int, take_int], agg)
        .add_fan_out(agg, [])
        .add_switch(agg, [])
    )
    assert "fan-in into 'agg' names a source twice" in problems
    assert "fan-out from 'agg' has no targets" in problems
    assert "switch from 'agg' has no cases" in problems


def test_all_problems_are_reported_together() -> None:
    @executor
    def orphan(n: int) -> int:
        return n

    problems = problems_of(
        WorkflowBuilder("9lives", start=make_text).add_edge(make_text, take_int).add_edge(orphan, take_int)
    )
    assert len(problems) == 3
    assert problems[0].startswith("invalid workflow name '9lives'")
    assert problems[1].startswith("type mismatch on edge 'make_text' -> 'take_int'")
    assert problems[2] == "executor 'orphan' is unreachable from the start executor 'make_text'"


def test_not_a_node_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected an executor, an approval or a built Workflow"):
        WorkflowBuilder("x", start=start).add_edge(start, lambda n: n)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- conditions


async def is_big(n: int) -> bool:
    return n > 10


class AsyncCheck:
    async def __call__(self, n: int) -> bool:
        return True


def test_coroutine_condition_on_an_edge_is_refused() -> None:
    problems = problems_of(WorkflowBuilder("async-cond", start=start).add_edge(start, take_int, when=is_big))
    assert len(problems) == 1
    assert "condition 'is_big'" in problems[0]
    assert "'start' -> 'take_int'" in problems[0]
    assert "is a coroutine function" in problems[0]
    assert "plain synchronous" in problems[0]


def test_coroutine_condition_in_a_switch_case_is_refused() -> None:
    problems = problems_of(
        WorkflowBuilder("async-case", start=start).add_switch(
            start, [Case(is_big, take_int)], default=make_text
        )
    )
    assert len(problems) == 1
    assert "condition 'is_big'" in problems[0]
    assert "'start' -> 'take_int'" in problems[0]
    assert "is a coroutine function" in problems[0]


def test_callable_object_with_async_call_is_refused() -> None:
    problems = problems_of(
        WorkflowBuilder("async-obj", start=start).add_edge(start, take_int, when=AsyncCheck())
    )
    assert len(problems) == 1 and "is a coroutine function" in problems[0]


def test_sync_conditions_are_accepted() -> None:
    class Check:
        def __call__(self, n: int) -> bool:
            return n > 0

    def positive(n: int) -> bool:
        return n > 0

    wf = (
        WorkflowBuilder("sync-cond", start=start)
        .add_edge(start, take_int, when=positive)
        .add_edge(start, make_text, when=Check())
        .build()
    )
    assert len(wf.groups) == 2


def test_non_callable_condition_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="a condition must be a function"):
        WorkflowBuilder("x", start=start).add_edge(start, take_int, when=True)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- approvals and escalation


class Request(BaseModel):
    what: str


class OtherRequest(BaseModel):
    code: int


@executor
def ask(r: Request) -> Request:
    return r


@executor
def notify(outcome: Any) -> str:
    return "done"


def test_escalation_to_a_non_approval_is_refused() -> None:
    first = Approval("first", request=Request, timeout=timedelta(hours=1), on_timeout=escalate_to("notify"))
    problems = problems_of(WorkflowBuilder("esc", start=ask).add_edge(ask, first).add_edge(first, notify))
    assert problems == [
        "approval 'first' escalates to 'notify', which is not an approval node of this workflow "
        "(add it with an edge first)"
    ]


def test_escalation_to_an_unknown_node_is_refused() -> None:
    first = Approval("first", request=Request, timeout=timedelta(hours=1), on_timeout=escalate_to("nobody"))
    problems = problems_of(WorkflowBuilder("esc", start=ask).add_edge(ask, first).add_edge(first, notify))
    assert problems == [
        "approval 'first' escalates to 'nobody', which is not an approval node of this workflow "
        "(add it with an edge first)"
    ]


def test_escalation_to_an_approval_of_another_request_type_is_refused() -> None:
    boss = Approval("boss", request=OtherRequest)
    first = Approval("first", request=Request, timeout=timedelta(hours=1), on_timeout=escalate_to(boss))
    problems = problems_of(
        WorkflowBuilder("esc", start=ask).add_edge(ask, first).add_edge(first, notify).add_edge(boss, notify)
    )
    assert problems == ["approval 'first' escalates to 'boss', but its request Request is not a OtherRequest"]


def test_escalation_target_reachable_only_through_the_escalation_is_fine() -> None:
    boss = Approval("boss", request=Request, response=ApprovalDecision)
    first = Approval("first", request=Request, timeout=timedelta(hours=1), on_timeout=escalate_to(boss))
    wf = WorkflowBuilder("esc", start=ask).add_edge(ask, first).add_edge(first, notify).add_edge(boss, notify)
    assert {a.id for a in wf.build().approvals()} == {"first", "boss"}


def test_approval_outcome_type_is_checked_downstream() -> None:
    first = Approval("first", request=Request)
    problems = problems_of(WorkflowBuilder("outcome", start=ask).add_edge(ask, first).add_edge(first, ask))
    assert len(problems) == 1
    assert problems[0].startswith("type mismatch on edge 'first' -> 'ask': 'first' emits ApprovalOutcome[")
    assert problems[0].endswith("but 'ask' takes Request")


# --------------------------------------------------------------------------- executors' declared types


class Shout(Executor[str, str]):
    def handle(self, message: str, ctx: StepContext) -> str:
        return message.upper()


class AsyncEcho(Executor[Request, Request]):
    """Echo a request back."""

    async def handle(self, message: Request, ctx: StepContext) -> Request:
        return message


class Stringify(Executor):  # types from handle's annotations
    def handle(self, message: int, ctx: StepContext) -> str:
        return str(message)


def test_class_executors_declare_their_types_and_ids() -> None:
    shout = Shout()
    assert (shout.id, shout.input_type, shout.output_type, shout.is_async) == ("shout", str, str, False)
    assert shout.description == ""  # not Executor's own docstring
    echo = AsyncEcho("echo")
    assert (echo.id, echo.input_type, echo.output_type, echo.is_async) == ("echo", Request, Request, True)
    assert echo.description == "Echo a request back."
    plain = Stringify()
    assert (plain.input_type, plain.output_type) == (int, str)


def test_function_executor_needs_annotations() -> None:
    with pytest.raises(TypeError, match="annotate its first parameter"):

        @executor
        def no_input(n):  # type: ignore[no-untyped-def]
            return n

    with pytest.raises(TypeError, match="annotate its return type"):

        @executor
        def no_output(n: int):  # type: ignore[no-untyped-def]
            return n


def test_function_executor_keeps_the_function_callable() -> None:
    assert make_text(5) == "5"
    assert (make_text.id, make_text.input_type, make_text.output_type) == ("make_text", int, str)
