"""Any JSON whatever, raised as an approval answer, is dropped or taken: it never fails a run or a partition.

Property-based (hypothesis, derandomized): arbitrary envelopes (text with lone surrogates, a known key id,
signatures of any type and script, every field of any JSON type) and arbitrary partition answers. Each is
checked three ways: the verify activity's verdict (it never raises), the orchestrator replayed over a
real run's history with that answer and its verdict appended (the run still waits on its request), and
a bounded sample raised into a real run on devhost (it keeps waiting, and a real answer still decides).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devhost.testing import DevHostHandle
from engine.core.versions import WorkflowVersions
from engine.durable.answers import ENVELOPE, VERIFY_ACTIVITY, Verdict, VerifyRequest, verify
from engine.durable.fold import fold, fold_partition
from engine.durable.history import HistoryEvent, typed_events
from engine.durable.partition import ANSWERS_EVENT
from engine.durable.signing_keys import key_id
from tests.durable import graphs, maps
from tests.durable.conftest import SIGNING_KEY, WEBHOOK, host_with, keys_of
from tests.durable.http import finished, get, post, wait_for, waiting

KEYS = keys_of(SIGNING_KEY)
KNOWN_KID = key_id(SIGNING_KEY.encode())
VERSIONS = WorkflowVersions.of([*graphs.ALL, *maps.ALL])

# Text as JSON can carry it: any code point, lone surrogates included (valid JSON, invalid UTF-8).
text = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
FIELDS = ("response", "decided_by", "via", "at", "answer_id", "link", "kid", "sig")
envelopes = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            **{name: json_values for name in FIELDS},
            "kid": st.one_of(st.just(KNOWN_KID), json_values),
            "sig": st.one_of(text, st.text("0123456789abcdef", min_size=64, max_size=64), json_values),
            "via": st.one_of(st.sampled_from(["endpoint", "event", "timeout", "runner"]), json_values),
        },
    ),
)
PROPERTY = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    yield from host_with(tmp_path_factory, "tests.durable.graphs,tests.durable.maps")


def history(host: DevHostHandle, instance_id: str) -> list[HistoryEvent]:
    url = f"{host.base_url}{WEBHOOK}/{instance_id}?showHistory=true&showHistoryOutput=true&showInput=true"
    return typed_events(get(url).body["historyEvents"])


@pytest.fixture(scope="module")
def waiting_run(host: DevHostHandle) -> tuple[str, list[HistoryEvent], dict[str, Any]]:
    """A t_approval run waiting on its request: its URI, its history, and the request."""
    run = post(f"{host.api_url}/workflows/t_approval?instanceId=prop-run", {"item": "x", "amount": 1})
    pending = wait_for(run.body["runUri"], waiting).body["pendingApprovals"][0]
    return run.body["runUri"], history(host, "prop-run"), pending


@pytest.fixture(scope="module")
def waiting_partition(host: DevHostHandle) -> tuple[str, list[HistoryEvent], dict[str, Any]]:
    """A partition of a map's approvals, waiting on its requests: its id, its history, one request."""
    body = {"name": "p", "docs": ["a", "b", "c", "d", "e"]}
    run = post(f"{host.api_url}/workflows/t_map_approvals_parts?instanceId=prop-map", body).body["runUri"]
    pending = get(f"{run}?wait=30").body["pendingApprovals"][0]
    return pending["partition"], history(host, pending["partition"]), pending


def answered_with(
    events: list[HistoryEvent], event_name: str, body: Any, request_id: str, envelope: Any
) -> list[HistoryEvent]:
    """``events`` with ``body`` raised and, when the orchestrator would verify ``envelope``, the verify
    activity's real verdict recorded after it."""
    at = max(e.timestamp for e in events if e.timestamp is not None) + timedelta(seconds=1)
    raised = HistoryEvent(type="EventRaised", timestamp=at, name=event_name, input=json.dumps(body))
    request = VerifyRequest(instance_id="x", request_id=request_id, sequence=1, envelope=envelope)
    verdict = verify(KEYS, request).model_dump(mode="json")
    done = HistoryEvent(
        type="TaskCompleted", timestamp=at, function_name=VERIFY_ACTIVITY, result=json.dumps(verdict)
    )
    return [*events, raised, done]


@PROPERTY
@given(envelope=envelopes)
def test_the_verify_activity_never_raises_and_never_accepts_a_forgery(envelope: Any) -> None:
    request = VerifyRequest(instance_id="i", request_id="r-s1-0", sequence=1, envelope=envelope)
    verdict = verify(KEYS, request)
    assert isinstance(verdict, Verdict) and verdict.valid is False
    json.dumps(verdict.model_dump(mode="json"))  # the activity's output is JSON a host can record


@PROPERTY
@given(envelope=envelopes)
def test_a_run_replayed_with_any_envelope_still_waits(
    waiting_run: tuple[str, list[HistoryEvent], dict[str, Any]], envelope: Any
) -> None:
    _, events, pending = waiting_run
    body = {ENVELOPE: envelope}
    replayed = answered_with(events, pending["event_name"], body, pending["request_id"], envelope)
    folded = fold(VERSIONS, "prop-run", replayed, continue_every=20, name="t_approval")
    assert folded.outcome == "waiting", folded.error
    assert [p.request_id for p in folded.open_approvals] == [pending["request_id"]]


@PROPERTY
@given(answer=st.one_of(json_values, st.fixed_dictionaries({"request_id": text, "answer": json_values})))
def test_a_partition_replayed_with_any_answer_still_waits(
    waiting_partition: tuple[str, list[HistoryEvent], dict[str, Any]], answer: Any
) -> None:
    partition, events, pending = waiting_partition
    for body in (answer, {"request_id": pending["request_id"], "answer": {ENVELOPE: answer}}):
        replayed = answered_with(events, ANSWERS_EVENT, body, pending["request_id"], answer)
        folded = fold_partition(VERSIONS, partition, replayed, activity="run_step")
        assert folded.outcome == "waiting", folded.error
        assert pending["request_id"] in [p.request_id for p in folded.open_approvals]


def test_a_real_run_and_partition_keep_waiting_through_a_sample_of_envelopes(
    host: DevHostHandle,
    waiting_run: tuple[str, list[HistoryEvent], dict[str, Any]],
    waiting_partition: tuple[str, list[HistoryEvent], dict[str, Any]],
) -> None:
    run, _, pending = waiting_run
    partition, _, held = waiting_partition
    sample: list[Any] = []

    @settings(max_examples=25, derandomize=True, deadline=None, database=None)
    @given(envelope=envelopes)
    def collect(envelope: Any) -> None:
        sample.append(envelope)

    collect()
    raise_uri = f"{host.base_url}{WEBHOOK}/{{}}/raiseEvent/{{}}"
    for envelope in sample:
        raw = json.dumps({ENVELOPE: envelope}).encode()
        assert post(raise_uri.format("prop-run", pending["event_name"]), raw=raw).status == 202
        answer = json.dumps({"request_id": held["request_id"], "answer": {ENVELOPE: envelope}}).encode()
        assert post(raise_uri.format(partition, ANSWERS_EVENT), raw=answer).status == 202
    view = get(f"{run}?wait=5&answered={pending['request_id']}").body
    assert view["runtimeStatus"] == "Running" and view["closedApprovals"] == [], view
    assert get(f"{host.base_url}{WEBHOOK}/{partition}").body["runtimeStatus"] == "Running"
    assert post(pending["respond_uri"], {"approved": True}).status == 202
    assert wait_for(run, finished).body["runtimeStatus"] == "Completed"
    map_run = f"{host.api_url}/workflows/t_map_approvals_parts/runs/prop-map"
    for open_request in get(f"{map_run}?approvals_top=100").body["pendingApprovals"]:
        assert post(open_request["respond_uri"], {"approved": False}).status == 202
    assert wait_for(map_run, finished).body["runtimeStatus"] == "Completed"
