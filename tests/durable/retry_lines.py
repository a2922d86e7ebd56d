"""A map whose items fail and are retried, for the CLI, the event feed and ``engine watch``
(``WORKFLOW_MODULES=tests.durable.retry_lines``): a ``FLAKY`` line fails its first attempt and passes its
second; a ``BROKEN`` line fails all three and is collected as an ``ItemFailed``."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from engine import ItemFailed, RetryPolicy, StepContext, TransientError, WorkflowBuilder, executor


class Line(BaseModel):
    sku: str
    qty: int = Field(default=1, ge=1)


class Order(BaseModel):
    order_id: str
    lines: list[Line]


@executor(id="lines_of")
def lines_of(order: Order) -> list[Line]:
    return order.lines


@executor(id="check_line", retry=RetryPolicy(max_attempts=3, first_interval=timedelta(milliseconds=10)))
def check_line(line: Line, ctx: StepContext) -> str:
    if line.sku.startswith("BROKEN") or (line.sku.startswith("FLAKY") and ctx.attempt == 1):
        raise TransientError(f"{line.sku}: the stock service is busy")
    return f"{line.sku} x{line.qty}"


@executor(id="gather_lines")
def gather_lines(checked: list[str | ItemFailed]) -> str:
    return ", ".join(c if isinstance(c, str) else f"line {c.index} failed" for c in checked)


workflow = (
    WorkflowBuilder("t_retry_lines", start=lines_of, description="Check each line of an order")
    .add_map(lines_of, check_line, collect=gather_lines, on_item_error="collect")
    .build()
)

ALL = [workflow]
