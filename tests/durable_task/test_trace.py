"""A run on the Durable Task runner is one trace too: the HTTP start of ``engine serve``, and every step
attempt its worker ran, before and after serve and worker were restarted (the task hub living on in a
sidecar), joined to the caller's ``traceparent`` through the run's input alone."""

from __future__ import annotations

import secrets
from collections import Counter
from pathlib import Path

from tests.agents.fake_openai import FakeOpenAI, completion
from tests.durable.hostings import engine_serve
from tests.durable.http import get, post
from tests.durable_task.sidecar import memory_sidecar
from tests.telemetry.otlp import Receiver
from tests.telemetry.test_devhost_trace import ORDER, _named, _settings, model_service, receiver

__all__ = ["model_service", "receiver"]  # the fixtures this module uses


def test_a_run_is_one_trace_across_a_restart_of_serve_and_its_worker(
    tmp_path: Path, receiver: Receiver, model_service: FakeOpenAI
) -> None:
    model_service.expect(completion({"text": "refund approved"}, usage=(31, 9)))
    settings = _settings(receiver, model_service)
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    with memory_sidecar(tmp_path / "sidecar.log") as port:
        backend = f"durabletask:localhost:{port}"
        modules = settings["WORKFLOW_MODULES"]
        with engine_serve(modules, tmp_path / "first.log", backend=backend, extra=settings) as served:
            started = post(
                f"{served.api_url}/workflows/tm_traced",
                ORDER,
                headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"},
            )
            assert started.status == 202, started.body
            instance = started.body["runUri"].rsplit("/", 1)[-1]
            view = get(f"{started.body['runUri']}?wait=30").body
            assert view["phase"] == "waiting_for_approval", view
        receiver.wait_for(lambda r: any(s.name.startswith("step decide") for s in r.spans))
        with engine_serve(modules, tmp_path / "second.log", backend=backend, extra=settings) as served:
            run_uri = f"{served.api_url}/workflows/tm_traced/runs/{instance}"
            respond = get(run_uri).body["pendingApprovals"][0]["respond_uri"]
            link = post(f"{respond}/links", {"for": "alice"})
            assert link.status == 201, link.body
            assert post(link.body["respond_uri"], {"approved": True, "comment": "fine"}).status == 202
            done = get(f"{run_uri}?wait=30&until=finished").body
            assert done["runtimeStatus"] == "Completed" and done["outputs"] == ["refund approved"], done
    receiver.wait_for(lambda r: any(s.name.startswith("step finish") for s in r.spans))
    spans = [s for s in receiver.spans if s.resource.get("service.name") == "telemetry-e2e"]
    [start] = _named(spans, "start workflow tm_traced")
    assert (start.trace_id, start.parent_id) == (caller_trace, caller_span)
    assert all(s.trace_id == caller_trace for s in spans), sorted(s.name for s in spans)
    steps = _named(spans, "step ")
    names = Counter(s.name for s in steps)
    assert set(names.values()) == {1}, names
    assert {s.name.split(" (")[0] for s in steps} == {
        "step receive",
        "step check_stock",
        "step check_fraud",
        "step decide",
        "step approved",
        "step draft_note",
        "step finish",
    }
    assert {s.parent_id for s in steps} == {start.span_id}
