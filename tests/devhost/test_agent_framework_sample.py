"""A third-party check of devhost's entities: Microsoft Agent Framework's durable agents
(agent-framework-azurefunctions), whose library code keeps each agent session in a durable entity, signals
it and polls read_entity_state from its HTTP endpoint, and runs agents from orchestrations with call_entity.

The package is not among the project's dependencies, so this runs only where it is installed, e.g.
``python -m venv /tmp/afvenv && /tmp/afvenv/bin/pip install agent-framework-azurefunctions pytest``, then
``PYTHONPATH=. /tmp/afvenv/bin/python -m pytest tests/devhost/test_agent_framework_sample.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS, call, finished

pytest.importorskip("agent_framework_azurefunctions")


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(APPS / "agent_framework") as handle:
        yield handle


def test_the_library_registers_its_agent_entity(host):
    assert "dafx-Echo: entityTrigger" in host.host.banner()


def test_an_orchestration_runs_the_agent_through_its_entity(host):
    # The library's DurableAIAgent.run is call_entity(EntityId("dafx-Echo", session), "run", request); the
    # entity keeps the conversation, so the second run is given the first exchange as well.
    started = call("POST", f"{host.base_url}/runtime/webhooks/durabletask/orchestrators/ask_twice")
    assert started.status == 202, started.text
    done = finished(host, started.json["id"])
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == ["echo: hello (1 given)", "echo: again (3 given)"]


def test_the_http_endpoint_signals_the_entity_and_reads_its_state(host):
    # The library's agents/{name}/run endpoint: client.signal_entity, then read_entity_state until the
    # entity's state holds the answer for the request's correlation id.
    reply = call("POST", f"{host.api_url}/agents/Echo/run", {"message": "hi there", "session_id": "s1"})
    assert reply.status == 200, reply.text
    assert reply.json["status"] == "success" and reply.json["response"] == "echo: hi there (1 given)"
    again = call("POST", f"{host.api_url}/agents/Echo/run", {"message": "and now", "session_id": "s1"})
    assert again.json["response"] == "echo: and now (3 given)"
