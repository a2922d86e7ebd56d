"""Which run started a run: a sub-workflow run's id is its parent's id, the node, the superstep and the item
(``engine.core.subworkflow.child_instance_id``), so its parent is read from the id itself, for the runs
list and the run view alike, without reading another instance."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

# `<parent>:<node>:<superstep>:<item>`; a map partition's `<run>:<node>:<superstep>:p<n>` does not match.
# Ids chosen through the workflow API cannot contain ":", so an id of this shape was made by a parent.
_CHILD = re.compile(r"^(?P<parent>.+):(?P<node>[^:]+):(?P<superstep>\d+):(?P<item>\d+)$")


class RunParent(BaseModel):
    """The run that started this one as a sub-workflow step (the node names the child workflow)."""

    model_config = ConfigDict(extra="forbid")

    instanceId: str
    node: str = Field(description="the parent's sub-workflow node, named after this run's workflow")
    superstep: int
    item: int = Field(description="the step's ordinal: a map item's index, else 0")


def parent_of(instance_id: str | None) -> RunParent | None:
    """The run that started ``instance_id`` as a sub-workflow, read from the id; None for a top-level run."""
    match = _CHILD.match(instance_id or "")
    if match is None:
        return None
    return RunParent(
        instanceId=match["parent"],
        node=match["node"],
        superstep=int(match["superstep"]),
        item=int(match["item"]),
    )


__all__ = ["RunParent", "parent_of"]
