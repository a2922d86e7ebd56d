"""A workflow with a bug that a later deploy fixes: ``check`` fails for good (at its first attempt)
until the file named by the ``FIXABLE_FIXED`` setting exists. Every attempt of every step is logged to
``FIXABLE_LOG``, so a test sees which steps a rewind runs again."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel

from engine import Approval, RetryPolicy, WorkflowBuilder, executor


class Item(BaseModel):
    name: str


def _log(step: str, item: Item) -> None:
    with Path(os.environ["FIXABLE_LOG"]).open("a") as log:
        log.write(f"{step}:{item.name}\n")


@executor(id="split")
def split(item: Item) -> Item:
    _log("split", item)
    return item


@executor(id="check", retry=RetryPolicy(max_attempts=1))
def check(item: Item) -> Item:
    _log("check", item)
    if not Path(os.environ["FIXABLE_FIXED"]).exists():
        raise RuntimeError(f"check cannot handle {item.name!r} yet")
    return Item(name=f"{item.name} checked")


@executor(id="price")
def price(item: Item) -> Item:
    time.sleep(0.5)  # still running when check fails: the run waits for it before it fails
    _log("price", item)
    return Item(name=f"{item.name} priced")


@executor(id="combine")
def combine(items: list[Item]) -> str:
    return " + ".join(i.name for i in items)


fixable = (
    WorkflowBuilder("t_fixable", start=split)
    .add_fan_out(split, [check, price])
    .add_fan_in([check, price], combine)
    .build()
)
waits = WorkflowBuilder("t_waits", start=Approval("hold", request=Item)).build()
ALL = [fixable, waits]
