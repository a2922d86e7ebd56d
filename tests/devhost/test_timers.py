"""Durable timers: cancelling one of several identical timers cancels that one."""

from __future__ import annotations

from datetime import timedelta

from tests.devhost.helpers import call, finished, start, status

WEBHOOK = "/runtime/webhooks/durabletask"


def test_identical_timers_cancel_the_right_one(basic):
    iid = start(basic, "identical_timers")
    for name in ("A", "B"):
        basic.wait_until_idle()
        assert call("POST", f"{basic.base_url}{WEBHOOK}/instances/{iid}/raiseEvent/{name}", 1).status == 202
    basic.wait_until_idle()
    basic.clock.advance(timedelta(hours=2))
    done = finished(basic, iid)
    assert done["runtimeStatus"] == "Completed" and done["output"] == "third fired"
    events = status(basic, iid, "?showHistory=true").json["historyEvents"]
    created = [e for e in events if e["EventType"] == "TimerCreated"]
    fired = [e for e in events if e["EventType"] == "TimerFired"]
    assert len(created) == 3
    # The three timers took task ids 0, 1, 2; the two cancelled ones never fire.
    assert [e["TimerId"] for e in fired] == [2]
