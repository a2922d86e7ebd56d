"""Maps: a list known only at run time, one step per item, the outputs gathered in item order.

What the routing core and both runners share about a map: an item's tag (which batch, which index), the
gathering of one batch's outputs, their JSON form (carried across continue-as-new and paused runs), and
what an item that failed for good becomes under the map's ``on_item_error``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from engine.core.run_error import RunError


class ItemFailed(BaseModel):
    """In a map with ``on_item_error="collect"``: the item at ``index`` failed for good, with ``error``."""

    index: int
    error: RunError


@dataclass(frozen=True, slots=True)
class ItemTag:
    """Which map batch a message belongs to, and its item index in that batch."""

    batch: str
    index: int


@dataclass(slots=True)
class Gather:
    """The outputs of one batch of a map, until every item has delivered."""

    map_index: int
    count: int
    results: dict[int, Any] = field(default_factory=dict)


class ItemTagJSON(BaseModel):
    """A map item's tag as JSON: its batch and its index in the batch."""

    batch: str
    index: int


class GatherJSON(BaseModel):
    """One batch's gathering as JSON: which map, how many items, and the results so far."""

    map_index: int
    count: int
    # [index, failed?, value]: a value is the item node's output as JSON, or an ItemFailed as JSON.
    results: list[tuple[int, bool, Any]]
