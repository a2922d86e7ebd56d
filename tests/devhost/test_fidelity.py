"""The history devhost recorded, replayed through the SDK's own orchestrator handler, yields the
same actions (kind and name, in order) and the same result as when it ran."""

from __future__ import annotations

import json
from datetime import timedelta

from azure.functions import meta
from azure.functions.durable_functions import OrchestrationTriggerConverter

from devhost.durable.orchestrator_actions import ACTION_NAMES, WAIT_EVENT, flatten
from tests.devhost.helpers import call, finished, start, status

CASES = [
    ("chaining", None),
    ("fan_out", 10),
    ("with_retry", "fidelity-key"),
    ("parent", None),
    ("monitor", None),
    ("approval", {"hours": 1}),
    ("early_event", None),
]


def _replay(host, iid: str) -> tuple[dict, list]:
    task_hub = host.host.task_hub
    rec = task_hub.records[iid]
    history = [{**e, "IsPlayed": True} for e in task_hub.history(iid)]
    value = json.loads(rec.input) if rec.input is not None else None
    ctx = {
        "history": history,
        "input": value if isinstance(value, str | dict) or value is None else rec.input,
        "instanceId": iid,
        "isReplaying": True,
        "parentInstanceId": None,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
        "longRunningTimerIntervalDuration": "3.00:00:00",
        "maximumShortTimerDuration": "6.00:00:00",
    }
    target = task_hub.index.orchestrators[rec.name]
    context = OrchestrationTriggerConverter.decode(meta.Datum(json.dumps(ctx), "json"), trigger_metadata=None)
    state = json.loads(target.fn(**{target.trigger_param: context}))
    return state, rec.book["actions"]


def test_recorded_histories_replay_to_the_same_actions(basic):
    ids = []
    for name, payload in CASES:
        ids.append(start(basic, name, payload))
    basic.wait_until_idle()
    for iid in ids:
        for n in (1, 2):
            call("POST", f"{basic.base_url}/runtime/webhooks/durabletask/instances/{iid}/raiseEvent/Go", n)
    for _ in range(20):
        basic.wait_until_idle()
        if all(status(basic, i).status == 200 for i in ids):
            break
        basic.clock.advance(timedelta(minutes=31))
    for iid in ids:
        done = finished(basic, iid)
        assert done["runtimeStatus"] == "Completed", done
        state, recorded = _replay(basic, iid)
        assert state["isDone"] is True
        assert state["output"] == done["output"]
        replayed = [
            (a["actionType"], a.get("functionName") or a.get("externalEventName") or "")
            for a in flatten(state["actions"][0])
            if a["actionType"] != 4
        ]
        assert replayed == [(kind, name or "") for kind, name, _ in recorded], ACTION_NAMES
        assert all(kind != WAIT_EVENT or name for kind, name in replayed)


def test_trigger_context_history_is_host_shaped(basic):
    iid = start(basic, "chaining")
    finished(basic, iid)
    events = basic.host.task_hub.history(iid)
    assert (
        events[0]["EventType"] == 12 and events[1]["EventType"] == 0
    )  # OrchestratorStarted, ExecutionStarted
    assert "Version" in events[1]
    for e in events:
        assert {"EventType", "EventId", "IsPlayed", "Timestamp"} <= set(e)
    completed = [e for e in events if e["EventType"] == 5]
    assert all(isinstance(e["Result"], str) and "TaskScheduledId" in e for e in completed)
    assert events[-1]["EventType"] == 13
