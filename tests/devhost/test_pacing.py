"""What devhost paces a long replay's next episode by: each instance's activities and sub-orchestrations
in flight, and how long its last episode took."""

from __future__ import annotations

import asyncio
from typing import Any

from devhost.durable.episode import InstanceState
from devhost.durable.history import EventType
from devhost.durable.replay_bookkeeping import Book
from devhost.durable.task_hub_store import InstanceRecord, WorkItem
from devhost.testing import _shared_loop, run_devhost
from tests.devhost.helpers import APPS, call

WEBHOOK = "/runtime/webhooks/durabletask"


async def _watch(task_hub: Any, iid: str) -> dict[str, Any]:
    seen, took = 0, 0.0
    for _ in range(3000):  # up to ~30 s
        seen = max(seen, task_hub.activities.inflight_for(iid))
        st = task_hub.states.get(iid)  # dropped from the cache once the instance completes
        took = max(took, st.last_episode_seconds if st is not None else 0.0)
        rec = task_hub.records.get(iid)
        if rec is not None and rec.status == "Completed":
            return {
                "most_in_flight": seen,
                "in_flight_after": task_hub.activities.inflight_for(iid),
                "others": task_hub.activities.inflight_for("no-such-instance"),
                "longest_episode_seen": took,
            }
        await asyncio.sleep(0.01)
    raise AssertionError(f"{iid} did not complete")


def test_activities_in_flight_are_counted_per_instance() -> None:
    with run_devhost(APPS / "slow_fanout") as host:
        task_hub = host.host.task_hub
        watch = asyncio.run_coroutine_threadsafe(_watch(task_hub, "pace-1"), _shared_loop())
        reply = call("POST", f"{host.base_url}{WEBHOOK}/orchestrators/slow_fan_out/pace-1", 12)
        assert reply.status == 202, reply.text
        got = watch.result(timeout=40)
        done = call("GET", f"{host.base_url}{WEBHOOK}/instances/pace-1").json
    assert done["output"] == {"sum": sum(i * i for i in range(12)), "last": 9}
    assert got["most_in_flight"] == 12  # the whole fan-out at once: each activity sleeps 0.25 s
    assert got["in_flight_after"] == 0 and got["others"] == 0
    # The episode that scheduled the fan-out was timed while the activities ran.
    assert 0 < got["longest_episode_seen"] < 30


def _event(kind: EventType, **fields: Any) -> dict[str, Any]:
    return {"EventType": int(kind), **fields}


def test_sub_orchestrations_in_flight_are_counted_from_the_history() -> None:
    """A map's parent waits for its partitions as a fan-out waits for its activities: what it started
    and has no answer for yet is in flight; a new execution's history starts the count again."""
    record = InstanceRecord("parent", "map_parent", "e1", "Running", None)
    st = InstanceState(record, [_event(EventType.ExecutionStarted)], Book())
    assert st.children_in_flight() == 0
    st.history += [_event(EventType.SubOrchestrationInstanceCreated, EventId=i) for i in range(3)]
    assert st.children_in_flight() == 3
    st.history.append(_event(EventType.SubOrchestrationInstanceCompleted, TaskScheduledId=0))
    st.history.append(_event(EventType.SubOrchestrationInstanceFailed, TaskScheduledId=1))
    assert st.children_in_flight() == 1
    st.history = [_event(EventType.ExecutionStarted)]  # continue-as-new: a history of its own
    assert st.children_in_flight() == 0


def test_answers_waiting_to_be_taken_in_are_not_in_flight() -> None:
    with run_devhost(APPS / "slow_fanout") as host:
        task_hub = host.host.task_hub
        record = InstanceRecord("gathering", "map_parent", "e1", "Running", None)
        st = InstanceState(
            record,
            [_event(EventType.SubOrchestrationInstanceCreated, EventId=i) for i in range(2)],
            Book(),
        )
        assert task_hub._children_out(st)
        answer = _event(EventType.SubOrchestrationInstanceCompleted, TaskScheduledId=0)
        task_hub.ready["gathering"] = [WorkItem(1, "gathering", "msg", {"event": answer})]
        assert task_hub._children_out(st)  # one of two still runs
        second = {**answer, "TaskScheduledId": 1}
        task_hub.ready["gathering"].append(WorkItem(2, "gathering", "msg", {"event": second}))
        assert not task_hub._children_out(st)  # both answered: nothing to wait for
        task_hub.ready.pop("gathering")
