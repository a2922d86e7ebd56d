"""devhost's speed-ups give the SDK exactly what it would compute itself."""

from __future__ import annotations

import importlib
import random
from datetime import UTC, datetime, timedelta

from dateutil.parser import parse

from devhost.durable import sdk_speedups
from devhost.durable.history import fmt_time


def test_memoized_parse_equals_dateutil() -> None:
    sdk_speedups.install()
    sdk_speedups.install()  # idempotent
    module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    rng = random.Random(7)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    texts = [fmt_time(base + timedelta(microseconds=rng.randint(0, 10**14))) for _ in range(500)]
    texts += ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.1234567Z", "2024-03-01T10:00:00+02:00"]
    for text in texts + texts:
        ours, theirs = module.dt_parse(text), parse(text)
        assert ours == theirs and repr(ours) == repr(theirs) and ours.utcoffset() == theirs.utcoffset()


def test_the_executor_reuses_one_payload_class_with_the_same_fields() -> None:
    sdk_speedups.install()
    module = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    first, second = module.TaskOrchestrationExecutor(), module.TaskOrchestrationExecutor()
    payload = next(iter(first.event_to_SetTaskValuePayload.values()))
    again = next(iter(second.event_to_SetTaskValuePayload.values()))
    assert type(payload) is type(again)  # made once, not once per orchestrator invocation
    assert type(payload).__name__ == "SetTaskValuePayload"
    assert type(payload)._fields == ("is_success", "task_id_key")
    assert first.event_to_SetTaskValuePayload == second.event_to_SetTaskValuePayload
    assert module.namedtuple("Other", "a b")._fields == ("a", "b")  # any other form: made as before
