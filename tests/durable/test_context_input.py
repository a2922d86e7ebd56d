"""AzureContext.get_input: every episode of an execution reads the same input; the SDK's reading of a long
one is kept and handed out again, each time a copy of its own, equal to what the SDK itself gives."""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df

from engine.durable import context as seam
from engine.durable.context import AzureContext


def _sdk_context(value: Any) -> Any:
    started = {"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": "2026-12-03T10:00:00.000Z"}
    body = {
        "history": [started],
        "instanceId": "i1",
        "isReplaying": False,
        "parentInstanceId": None,
        "input": value,
    }
    return df.DurableOrchestrationContext.from_json(json.dumps(body))


def _long_input() -> dict[str, Any]:
    rows = [["tick", n, 0, 1, True, "2026-12-03T10:00:00+00:00", 1.5, 0.2, None, None] for n in range(60)]
    return {"input": {"left": 3, "note": "é ☃"}, "trail": {"steps": rows}, "executed": ["tick"], "n": 1.25}


def test_a_long_input_is_read_once_and_handed_out_as_copies() -> None:
    seam._INPUTS.clear()
    value = _long_input()
    first = AzureContext(_sdk_context(value))
    sdk_reading = first._sdk.get_input()
    got = first.get_input()
    assert got == sdk_reading == value
    assert len(seam._INPUTS) == 1
    got["input"]["left"] = 99  # the orchestrator changes what it read: the next episode must not see it
    got["trail"]["steps"].clear()
    again = AzureContext(_sdk_context(value)).get_input()  # the next episode, a new SDK context
    assert again == value
    assert list(again) == list(value) and list(again["input"]) == list(value["input"])  # key order kept
    assert again["trail"]["steps"] is not got["trail"]["steps"]


def test_short_inputs_go_through_the_sdk_every_time() -> None:
    seam._INPUTS.clear()
    assert AzureContext(_sdk_context({"left": 3})).get_input() == {"left": 3}
    assert AzureContext(_sdk_context(json.dumps("plain text"))).get_input() == "plain text"
    assert seam._INPUTS == {}


def test_the_kept_readings_are_bounded() -> None:
    seam._INPUTS.clear()
    for n in range(seam._INPUTS_KEPT + 5):
        value = {**_long_input(), "n": n}
        assert AzureContext(_sdk_context(value)).get_input() == value
    assert len(seam._INPUTS) <= seam._INPUTS_KEPT
