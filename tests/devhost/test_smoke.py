from __future__ import annotations

from tests.devhost.helpers import finished, start


def test_chaining_via_sdk_client(basic):
    iid = start(basic, "chaining")
    body = finished(basic, iid)
    assert body["runtimeStatus"] == "Completed", body
    assert body["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
