"""``kill -9`` of a devhost process in the middle of an agent step: no model call and no tool call that
finished is made again, the call in flight is delivered again with the same idempotency key, and the run
completes. The model is the test's OpenAI-compatible server (through the real openai client in the host);
the tool writes every call it receives to a ledger file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from devhost.testing import DevHostProcess
from engine.core.loop_calls import call_idempotency_key
from engine.core.supersteps import idempotency_key
from engine.durable.loop_messages import LOOP_ORCHESTRATOR
from tests.agents.fake_openai import FakeOpenAI, Reply, Seen, completion, error
from tests.durable.http import Reply as HttpReply
from tests.durable.http import finished, get, post, wait_for

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "/runtime/webhooks/durabletask/instances"
ASK = {"order_id": "ORD-101200", "reason": "Arrived broken"}
ANSWER = {"order_id": "ORD-101200", "amount": 1200.0, "message": "Your note is recorded."}


def host(tmp_path: Path, fake: FakeOpenAI, ledger: Path, tool_seconds: float) -> DevHostProcess:
    settings = {
        "WORKFLOW_MODULES": "tests.agents.loop_workflows",
        "APPROVAL_SIGNING_KEY": "agent-crash-signing-key-not-a-secret",
        "OPENAI_BASE_URL": fake.v1,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_MODEL": "gpt-test",
        "AGENT_TOOL_LEDGER": str(ledger),
        "AGENT_TOOL_SECONDS": str(tool_seconds),
        "PYTHONUNBUFFERED": "1",
    }
    return DevHostProcess(ROOT, tmp_path / "state.sqlite", settings=settings, log_path=tmp_path / "host.log")


def ledger_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def step_key(instance_id: str) -> str:
    return idempotency_key("a_ledgered", instance_id, 1, "a_ledgered_agent", 0)


async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """A blocking call (devhost's process control, HTTP) off the loop the model server runs on."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def until(predicate: Any, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_kill_after_a_tool_call_never_repeats_it_nor_the_model_calls_before(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    ledger = tmp_path / "tool-ledger.jsonl"
    arrived, never = asyncio.Event(), asyncio.Event()

    async def stall(seen: Seen) -> Reply:  # the second model call: the host is killed while it waits
        arrived.set()
        await never.wait()
        return completion(ANSWER)

    fake.expect(
        error(429, "slow down", {"Retry-After": "1"}),  # the first model call waits out the server's wait
        completion(tool_calls=[("record", {"note": "refund asked"})]),
        stall,
        completion(ANSWER),  # the second model call, delivered again after the restart
    )
    process = host(tmp_path, fake, ledger, tool_seconds=0)
    await call(process.start, 60)
    try:
        api = f"{process.base_url}/api/workflows"
        started: HttpReply = await call(post, f"{api}/a_ledgered", ASK)
        run = started.body["runUri"]
        await asyncio.wait_for(arrived.wait(), 90)
        await call(process.kill9)
        never.set()
        await call(process.start, 60)
        view = (await call(wait_for, run, finished, timeout=90)).body
        loop_id = f"{view['instanceId']}:a_ledgered_agent:1:0:a1"
        status = (await call(get, f"{process.base_url}{WEBHOOK}/{loop_id}?showHistory=true")).body
    finally:
        await call(process.stop)

    assert view["runtimeStatus"] == "Completed", view["error"]
    assert view["outputs"] == [ANSWER]
    requests = fake.chat_requests
    assert len(requests) == 4
    assert [len(r.messages) for r in requests] == [2, 2, 4, 4]  # m1 (429), m1, m2 (cut short), m2 again
    assert requests[2].body == requests[3].body  # the same turn, from the recorded conversation
    # The tool ran once, with its call's own key, although the host died after it.
    [recorded] = ledger_lines(ledger)
    assert recorded["key"] == call_idempotency_key(step_key(view["instanceId"]), "t1.0")
    assert recorded["note"] == "refund asked"
    assert status["name"] == LOOP_ORCHESTRATOR
    kinds = [e["EventType"] for e in status["historyEvents"]]
    assert kinds.count("TimerFired") == 1  # the Retry-After wait, on a durable timer


async def test_a_kill_during_a_tool_call_delivers_it_again_with_the_same_key(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    ledger = tmp_path / "tool-ledger.jsonl"
    fake.expect(completion(tool_calls=[("record", {"note": "refund asked"})]), completion(ANSWER))
    process = host(tmp_path, fake, ledger, tool_seconds=60)  # the tool records, then takes its time
    await call(process.start, 60)
    try:
        run = (await call(post, f"{process.base_url}/api/workflows/a_ledgered", ASK)).body["runUri"]
        await until(lambda: len(ledger_lines(ledger)) == 1, 90)
        await call(process.kill9)
        process.settings["AGENT_TOOL_SECONDS"] = "0"
        await call(process.start, 60)
        view = (await call(wait_for, run, finished, timeout=90)).body
    finally:
        await call(process.stop)

    assert view["runtimeStatus"] == "Completed", view["error"]
    assert view["outputs"] == [ANSWER]
    # The call in flight was delivered again (at least once), with the same idempotency key: a tool that
    # de-duplicates by it (the orders server does) has its effect once. The model was not asked again.
    first, again = ledger_lines(ledger)
    assert first["key"] == again["key"] == call_idempotency_key(step_key(view["instanceId"]), "t1.0")
    assert [len(r.messages) for r in fake.chat_requests] == [2, 4]
