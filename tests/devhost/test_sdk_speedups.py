"""devhost's memoized timestamp parse gives the SDK exactly what dateutil would."""

from __future__ import annotations

import importlib
import random
from datetime import UTC, datetime, timedelta

from dateutil.parser import parse

from devhost import sdk_speedups
from devhost.history import fmt_time


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
