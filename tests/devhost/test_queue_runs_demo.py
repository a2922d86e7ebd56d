"""The example app examples/queue_runs: the project's workflows, and a queue-triggered function that
starts one workflow run per Storage queue message through the durable client binding, on the real
devhost with Azurite. (The project's own function_app.py has no queue trigger: it would make every
`make serve` need Azurite.)"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from devhost.storage.storage_account import DEFAULT_CONNECTION
from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.azurite_support import need_azurite, storage_clients
from tests.devhost.helpers import call

APP = Path(__file__).resolve().parents[2] / "examples" / "queue_runs"


def eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)
    return value


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    need_azurite(APP)
    with run_devhost(APP) as handle:
        yield handle


def send(claim: dict[str, Any]) -> str:
    queues = storage_clients(os.environ[DEFAULT_CONNECTION])[1]
    queue = queues.get_queue_client("expense-claims")
    # Base64, the queue extension's default messageEncoding, as `az storage message put` or an app's
    # queue output writes it.
    return str(queue.send_message(base64.b64encode(json.dumps(claim).encode()).decode()).id)


def test_each_queue_message_starts_one_workflow_run(host):
    message_id = send({"employee": "ada", "title": "Taxi", "amount": 20})
    url = f"{host.api_url}/workflows/expense_claim/runs/queue-{message_id}"
    run = eventually(
        lambda: (
            (reply := call("GET", url)).status == 200 and reply.json["phase"] == "completed" and reply.json
        )
    )
    assert run["input"]["employee"] == "ada"
    assert run["outputs"] == [
        {"employee": "ada", "outcome": "paid", "amount": 20.0, "instalments": 1, "reason": ""}
    ]


def test_an_invalid_claim_ends_in_the_poison_queue(host):
    # The function raises on a claim the workflow's input schema rejects; the queue extension retries it
    # maxDequeueCount (5) times, then moves it to "<queue>-poison" (QueueProcessor).
    send({"employee": "ada"})
    queues = storage_clients(os.environ[DEFAULT_CONNECTION])[1]
    poison = queues.get_queue_client("expense-claims-poison")

    def poisoned() -> list[Any]:
        try:
            return list(poison.peek_messages())
        except ResourceNotFoundError:
            return []

    message = eventually(poisoned)[0]
    assert json.loads(base64.b64decode(message.content)) == {"employee": "ada"}
