"""host.json extensions.queues as the Storage Queues extension reads it (QueuesOptions; "host.json
settings" in the queue trigger reference on Microsoft Learn): defaults, time spans, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.config.errors import DevHostError
from devhost.config.queue_settings import QueueSettings, parse_queue_settings

HOST_JSON = Path("host.json")


def test_defaults_are_the_extensions():
    assert parse_queue_settings(None, HOST_JSON) == QueueSettings(
        batch_size=16,
        new_batch_threshold=8,
        max_polling_interval=60.0,
        visibility_timeout=0.0,
        max_dequeue_count=5,
        message_encoding="base64",
    )


def test_values_and_time_spans():
    settings = parse_queue_settings(
        {
            "batchSize": 4,
            "maxPollingInterval": "00:00:02",
            "visibilityTimeout": "00:00:30",
            "maxDequeueCount": 2,
            "messageEncoding": "none",
        },
        HOST_JSON,
    )
    assert settings.batch_size == 4 and settings.new_batch_threshold == 2  # batchSize / 2 when not set
    assert settings.max_polling_interval == 2.0 and settings.visibility_timeout == 30.0
    assert settings.max_dequeue_count == 2 and settings.message_encoding == "none"
    # maxPollingInterval may also be a number of milliseconds.
    assert parse_queue_settings({"maxPollingInterval": 2000}, HOST_JSON).max_polling_interval == 2.0


@pytest.mark.parametrize(
    "raw",
    [
        {"batchSize": 33},  # the service returns at most 32 messages per get
        {"batchSize": 0},
        {"maxDequeueCount": 0},
        {"visibilityTimeout": "soon"},
        {"messageEncoding": "utf-16"},
        [],
    ],
)
def test_invalid_settings_are_a_start_up_error(raw):
    with pytest.raises(DevHostError):
        parse_queue_settings(raw, HOST_JSON)
