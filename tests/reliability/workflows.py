"""Workflows of the crash campaign, loaded into the project's app through the WORKFLOW_MODULES setting.

``r_fan200`` (and the smaller ``r_fan20`` for CI) fans one job out to many side-effecting steps and
gathers them. Each step sleeps before and after its side effect (asynchronously, so an in-memory run of
200 steps takes one delay, not 200), so a ``kill -9`` lands in the middle of steps: before the effect
(re-executed, effect once) or after it (re-executed, the ledger returns the first result). With the
``SIDE_EFFECT_LEDGER`` app setting every execution and every effect is recorded in that SQLite file.

``r_map300`` (``r_map30`` for CI) maps a batch of items known only at run time to the same kind of slow,
side-effecting step, ``max_parallel`` at a time: each item records its effect under its own idempotency
key with its index in the recorded result (so an audit tells which item had its effect, and how often),
one item fails transiently once (retried), and the batch's ``fail_every``-th items fail for good after
their effect, collected as ``ItemFailed``.

``r_asks150`` (``r_asks30`` for CI) asks a person to sign off each item of a batch: 150 requests in
partitions of the default size for approvals (100), or 30 in partitions of 10. The campaign answers them
through the run's own links while the host is killed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from engine import (
    Approval,
    ApprovalDecision,
    ApprovalOutcome,
    ItemFailed,
    NonRetryableError,
    RetryPolicy,
    StepContext,
    TransientError,
    Workflow,
    WorkflowBuilder,
    executor,
)
from engine.core.executor import FunctionExecutor
from executors.ledger import configured_ledger


class Job(BaseModel):
    seed: int = Field(ge=0, le=1_000_000)
    delay_ms: int = Field(default=0, ge=0, le=2_000, description="upper bound of each step's two sleeps")


class Done(BaseModel):
    index: int
    value: int


def step_value(job: Job, index: int) -> int:
    return job.seed * 1_000 + index * index


def _delays(job: Job, index: int) -> tuple[float, float]:
    """Two deterministic pseudo-random sleeps per step, each in [0, delay_ms] milliseconds."""
    if job.delay_ms == 0:
        return 0.0, 0.0
    h = (job.seed * 2_654_435_761 + index * 40_503) % 1_000_003
    return (h % (job.delay_ms + 1)) / 1000, ((h // 7) % (job.delay_ms + 1)) / 1000


def _effect_step(index: int) -> FunctionExecutor:
    async def effect(job: Job, ctx: StepContext) -> Done:
        before, after = _delays(job, index)
        value = step_value(job, index)
        ledger = configured_ledger()
        if ledger is None:
            await asyncio.sleep(before + after)
            return Done(index=index, value=value)
        execution = await asyncio.to_thread(ledger.begin, ctx)
        await asyncio.sleep(before)
        recorded = await asyncio.to_thread(ledger.once, ctx, json.dumps(value))
        await asyncio.sleep(after)
        await asyncio.to_thread(ledger.end, execution)
        return Done(index=index, value=json.loads(recorded))

    return executor(effect, id=f"r_effect_{index}")


@executor(id="r_spread")
def spread(job: Job) -> Job:
    return job


@executor(id="r_collect")
def collect(parts: list[Done]) -> dict[str, int]:
    return {
        "count": len(parts),
        "sum": sum(p.value for p in parts),
        "in_order": int(all(p.index == i for i, p in enumerate(parts))),
    }


def fan(name: str, width: int) -> Workflow:
    steps = [_effect_step(i) for i in range(width)]
    return (
        WorkflowBuilder(name, start=spread, max_supersteps=10, description=f"crash campaign: {width} effects")
        .add_fan_out(spread, steps)
        .add_fan_in(steps, collect)
        .build()
    )


EFFECT_PREFIX = "r_effect_"
fan200 = fan("r_fan200", 200)
fan20 = fan("r_fan20", 20)
ALL = [fan200, fan20]


class Batch(BaseModel):
    seed: int = Field(ge=0, le=1_000_000)
    items: int = Field(ge=0, le=1_000)
    delay_ms: int = Field(default=0, ge=0, le=2_000, description="upper bound of each item's two sleeps")
    fail_every: int = Field(default=0, ge=0, description="items index % fail_every == fail_every - 1 fail")


class Item(BaseModel):
    seed: int
    index: int
    delay_ms: int
    fails: bool  # for good, after its side effect
    flaky: bool  # its first attempt fails before its side effect (retried)


class ItemDone(BaseModel):
    index: int
    value: int


def batch_items(batch: Batch) -> list[Item]:
    return [
        Item(
            seed=batch.seed,
            index=i,
            delay_ms=batch.delay_ms,
            fails=batch.fail_every > 0 and i % batch.fail_every == batch.fail_every - 1,
            flaky=i == batch.items // 3,
        )
        for i in range(batch.items)
    ]


def failing_items(batch: Batch) -> list[int]:
    return [item.index for item in batch_items(batch) if item.fails]


MAP_ITEM = "r_map_item"


@executor(id="r_batch")
def receive_batch(batch: Batch) -> Batch:
    return batch


@executor(id=MAP_ITEM, retry=RetryPolicy(max_attempts=3, first_interval=timedelta(milliseconds=200)))
async def map_item(item: Item, ctx: StepContext) -> ItemDone:
    job = Job(seed=item.seed, delay_ms=item.delay_ms)
    if item.flaky and ctx.attempt == 1:
        raise TransientError(f"item {item.index}: a first attempt that fails before its side effect")
    value = step_value(job, item.index)
    ledger = configured_ledger()
    if ledger is None:
        # No ledger: the in-memory run that computes the expected output; nothing is killed, so the
        # sleeps that land kills inside steps would only slow it down.
        recorded = json.dumps({"index": item.index, "value": value})
    else:
        before, after = _delays(job, item.index)
        execution = await asyncio.to_thread(ledger.begin, ctx)
        await asyncio.sleep(before)
        # The index rides in the recorded result: the audit checks each item had its effect once.
        recorded = await asyncio.to_thread(
            ledger.once, ctx, json.dumps({"index": item.index, "value": value})
        )
        await asyncio.sleep(after)
        await asyncio.to_thread(ledger.end, execution)
    if item.fails:
        raise NonRetryableError(f"item {item.index} fails for good after its side effect")
    return ItemDone(index=item.index, value=json.loads(recorded)["value"])


@executor(id="r_map_collect")
def collect_items(parts: list[ItemDone | ItemFailed]) -> dict[str, Any]:
    done = [p for p in parts if isinstance(p, ItemDone)]
    return {
        "count": len(parts),
        "sum": sum(p.value for p in done),
        "failed": [[p.index, p.error.type] for p in parts if isinstance(p, ItemFailed)],
        "in_order": int(all(p.index == i for i, p in enumerate(parts))),
    }


def batch_map(name: str, max_parallel: int, partition_size: int | None = None) -> Workflow:
    """A map of side-effecting items: partitioned at the default size (r_map300: 233 items per partition,
    from the items' three attempts), or at a small one so CI's campaign kills partitions too."""
    return (
        WorkflowBuilder(name, start=receive_batch, max_supersteps=10, description="crash campaign: a map")
        .add_map(
            receive_batch,
            map_item,
            collect=collect_items,
            items=batch_items,
            max_parallel=max_parallel,
            on_item_error="collect",
            partition_size=partition_size,
        )
        .build()
    )


map300 = batch_map("r_map300", 50)
map30 = batch_map("r_map30", 8, partition_size=10)
MAPS = {map300.name: 300, map30.name: 30}  # the batch size each is started with
ALL += [map300, map30]


class Blob(BaseModel):
    """A large input (``text``) and the size of the large output to produce."""

    text: str = Field(default="", max_length=4_000_000)
    out_kb: int = Field(default=0, ge=0, le=4_096)


class Payload(BaseModel):
    input_chars: int
    input_sha256: str
    data: str


def blob_output(blob: Blob) -> Payload:
    pattern = "".join(chr(0x41 + (i * 7) % 26) for i in range(1024))  # 1 KB, not trivially compressible
    return Payload(
        input_chars=len(blob.text),
        input_sha256=hashlib.sha256(blob.text.encode()).hexdigest(),
        data=pattern * blob.out_kb,
    )


@executor(id="r_grow")
def grow(blob: Blob) -> Payload:
    """Reads the large input, emits the large output: both cross the activity boundary."""
    return blob_output(blob)


@executor(id="r_relay")
def relay(payload: Payload) -> Payload:
    """Takes the large output as its input and passes it on as the run's output."""
    return payload


big = (
    WorkflowBuilder("r_big", start=grow, description="large inputs and outputs").add_edge(grow, relay).build()
)
ALL.append(big)


class AskBatch(BaseModel):
    seed: int
    items: int = Field(ge=0, le=1_000)


@executor(id="r_asks_batch")
def list_asks(batch: AskBatch) -> list[int]:
    return [batch.seed * 1_000 + i for i in range(batch.items)]


ITEM_SIGN_OFF = "r_item_sign_off"
item_sign_off = Approval(ITEM_SIGN_OFF, request=int, response=ApprovalDecision)


@executor(id="r_asks_collect")
def collect_asks(outcomes: list[ApprovalOutcome[int, ApprovalDecision]]) -> dict[str, Any]:
    return {
        "count": len(outcomes),
        "approved": sum(o.response.approved for o in outcomes),
        "requests": [o.request for o in outcomes],
    }


def approval_map(name: str, partition_size: int | None = None) -> Workflow:
    """One sign-off per item, in partitions (of the default size unless given)."""
    return (
        WorkflowBuilder(name, start=list_asks, description="crash campaign: an approval per item")
        .add_map(list_asks, item_sign_off, collect=collect_asks, partition_size=partition_size)
        .build()
    )


asks150 = approval_map("r_asks150")
asks30 = approval_map("r_asks30", partition_size=10)
ASKS = {asks150.name: 150, asks30.name: 30}  # the batch size each is started with
ALL += [asks150, asks30]
