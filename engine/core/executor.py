"""The programming model: executors and the step context they run in.

An executor is a typed unit of work. Its input and output types are pydantic models or JSON-able
builtins; the engine validates what crosses a boundary with a ``TypeAdapter`` of those types.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar, get_type_hints

from pydantic import TypeAdapter

from engine.core.retry import RetryPolicy

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(slots=True)
class StepContext:
    """What an executor knows about the step it is running.

    ``idempotency_key`` is the same for every attempt and every replay of one step of one run, so a side
    effect (a refund, an email) can be de-duplicated by whoever receives it.
    """

    workflow: str
    instance_id: str
    executor_id: str
    attempt: int
    idempotency_key: str
    logger: logging.Logger
    annotations: dict[str, Any] = field(default_factory=dict)
    # Which execution of the run under ``instance_id`` this is (its nonce; None in memory): what the step
    # writes outside the history (its streams) is kept under it, so a later run reusing the id never
    # reads it.
    execution: str | None = None

    def annotate(self, **values: Any) -> None:
        """Attach JSON-able facts to this step (token usage, a model name); they appear in its events."""
        self.annotations.update(values)


def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


class Node:
    """A vertex of a workflow graph: an executor or an approval. It has an id and typed ports."""

    id: str
    input_type: Any
    output_type: Any
    kind: ClassVar[str] = "executor"

    def _init_types(self, input_type: Any, output_type: Any) -> None:
        self.input_type = input_type
        self.output_type = output_type
        self.input_adapter = _adapter(input_type)
        self.output_adapter = _adapter(output_type)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r}>"


class Executor(Node, Generic[In, Out]):
    """Class form of an executor: subclass ``Executor[In, Out]`` and implement ``handle``.

    ``handle`` may be ``async def`` or a plain function (a plain one runs in a worker thread so it does
    not block the other executors of its superstep).
    """

    retry: RetryPolicy | None = None
    # How long one attempt may take; a slower one is abandoned and counts as a retryable failure.
    step_timeout: timedelta | None = None
    description: str = ""

    def __init__(
        self, id: str | None = None, *, retry: RetryPolicy | None = None, timeout: timedelta | None = None
    ) -> None:
        self.id = id or getattr(type(self), "executor_id", None) or _snake(type(self).__name__)
        if retry is not None:
            self.retry = retry
        if timeout is not None:
            self.step_timeout = _positive(timeout, self.id)
        if not self.description:
            # Not inspect.getdoc: it would hand a subclass without a docstring Executor's own.
            self.description = inspect.cleandoc(type(self).__doc__ or "")
        input_type, output_type = _declared_types(type(self))
        self._init_types(input_type, output_type)
        self.is_async = inspect.iscoroutinefunction(self.handle)

    def handle(self, message: In, ctx: StepContext) -> Out | Awaitable[Out]:
        """Turn one message into the step's output; override it (plain ``def`` or ``async def``)."""
        raise NotImplementedError(f"executor {self.id!r} does not implement handle()")


class FunctionExecutor(Executor[Any, Any]):
    """An executor made from a function by ``@executor``."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        id: str,
        input_type: Any,
        output_type: Any,
        takes_context: bool,
        retry: RetryPolicy | None,
        description: str,
        timeout: timedelta | None = None,
    ) -> None:
        self.id = id
        self.retry = retry
        self.step_timeout = _positive(timeout, id) if timeout is not None else None
        self.description = description
        self._fn = fn
        self._takes_context = takes_context
        self._init_types(input_type, output_type)
        self.is_async = inspect.iscoroutinefunction(fn)
        self.__wrapped__ = fn

    def handle(self, message: Any, ctx: StepContext) -> Any:
        """Call the decorated function, with the step context when it takes one."""
        if self._takes_context:
            return self._fn(message, ctx)
        return self._fn(message)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)


def executor(
    fn: Callable[..., Any] | None = None,
    *,
    id: str | None = None,
    retry: RetryPolicy | None = None,
    description: str | None = None,
    timeout: timedelta | None = None,
) -> Any:
    """Make an executor of a function ``(message: In[, ctx: StepContext]) -> Out``.

    Types come from the annotations; ``id`` defaults to the function name. ``timeout``: how long one
    attempt may take; a slower attempt is abandoned (it may still finish: cover its side effects with
    ``ctx.idempotency_key``) and counts as a retryable failure under ``retry``.
    """

    def wrap(f: Callable[..., Any]) -> FunctionExecutor:
        hints = get_type_hints(f, include_extras=True)
        params = list(inspect.signature(f).parameters.values())
        if not params or params[0].name not in hints:
            raise TypeError(f"executor {f.__name__!r}: annotate its first parameter with the input type")
        if "return" not in hints:
            raise TypeError(f"executor {f.__name__!r}: annotate its return type (the output type)")
        output_type = hints["return"]
        if output_type is type(None):
            output_type = None
        return FunctionExecutor(
            f,
            id=id or f.__name__,
            input_type=hints[params[0].name],
            output_type=output_type,
            takes_context=len(params) > 1,
            retry=retry,
            description=description if description is not None else (inspect.getdoc(f) or ""),
            timeout=timeout,
        )

    return wrap(fn) if fn is not None else wrap


def _declared_types(cls: type) -> tuple[Any, Any]:
    """The ``In`` and ``Out`` of ``class X(Executor[In, Out])``, or of ``handle``'s annotations."""
    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            origin = typing.get_origin(base)
            if isinstance(origin, type) and issubclass(origin, Executor):
                args = typing.get_args(base)
                if len(args) == 2 and not any(isinstance(a, TypeVar) for a in args):
                    return args[0], (None if args[1] is type(None) else args[1])
    hints = get_type_hints(cls.handle)
    if "message" in hints and "return" in hints:
        return hints["message"], hints["return"]
    raise TypeError(
        f"executor class {cls.__name__}: declare its types as Executor[In, Out] "
        "or annotate handle(self, message: In, ctx) -> Out"
    )


def _positive(timeout: timedelta, executor_id: str) -> timedelta:
    if not isinstance(timeout, timedelta) or timeout <= timedelta(0):
        raise ValueError(f"executor {executor_id!r}: timeout must be a positive timedelta, got {timeout!r}")
    return timeout


def _snake(name: str) -> str:
    out = [name[0].lower()]
    for ch in name[1:]:
        out.append(f"_{ch.lower()}" if ch.isupper() else ch)
    return "".join(out)
