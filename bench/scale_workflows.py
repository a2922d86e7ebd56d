"""The map the "maps at scale" benchmark runs on devhost, loaded into the project's app through the
``WORKFLOW_MODULES`` app setting (``bench.scale_workflows``): N trivial items, their sum collected.

The list is made by the start step from a count, so the request stays small at any N.
"""

from __future__ import annotations

from pydantic import BaseModel

from engine import WorkflowBuilder, executor

NAME = "bench_map_scale"
SYNC_NAME = "bench_map_scale_sync"


class Size(BaseModel):
    n: int


@executor(id="scale_items")
async def scale_items(size: Size) -> list[int]:
    return list(range(size.n))


@executor(id="scale_add_one")
async def scale_add_one(x: int) -> int:
    return x + 1


@executor(id="scale_add_one_sync")
def scale_add_one_sync(x: int) -> int:
    """The same item as a plain ``def``: what most users write (run off the event loop)."""
    return x + 1


@executor(id="scale_total")
async def scale_total(values: list[int]) -> int:
    return sum(values)


# The default partition size (the largest whose worst case stays under 3,000 events) and max_parallel
# unset: the map as a user would write it. max_items raised so the 100,000-item point is allowed.
workflow = (
    WorkflowBuilder(NAME, start=scale_items)
    .add_map(scale_items, scale_add_one, collect=scale_total, max_items=1_000_000)
    .build()
)

# The same map with a plain ``def`` item step (the sync shape of the benchmark).
sync_workflow = (
    WorkflowBuilder(SYNC_NAME, start=scale_items)
    .add_map(scale_items, scale_add_one_sync, collect=scale_total, max_items=1_000_000)
    .build()
)

ALL = [workflow, sync_workflow]
