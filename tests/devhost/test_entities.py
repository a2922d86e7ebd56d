"""Durable entities on devhost, against a plain azure-functions-durable app (apps/entities): function-based
entities, signal_entity / call_entity from orchestrators, the SDK client's signal_entity and
read_entity_state, the entity webhooks and query route, and exactly-once operations across restarts and
kill -9. Each test names the extension behaviour it mirrors (Azure/azure-functions-durable-extension,
src/WebJobs.Extensions.DurableTask, unless said otherwise)."""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHostHandle, DevHostProcess, run_devhost
from tests.devhost.helpers import APPS, Reply, call, finished, status

APP = APPS / "entities"
WEBHOOK = "/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(APP) as handle:
        yield handle


def run(host, name: str, payload=None) -> dict:
    reply = call("POST", f"{host.api_url}/start/{name}", payload)
    assert reply.status == 202, reply.text
    return finished(host, reply.json["id"])


def read(host, key: str, name: str = "Counter") -> dict:
    reply = call("GET", f"{host.api_url}/entity/{name}/{key}")
    assert reply.status == 200, reply.text
    return reply.json


def webhook(host, method: str, path: str, body=None, **kwargs) -> Reply:
    return call(method, f"{host.base_url}{WEBHOOK}/{path}", body, **kwargs)


# --- orchestrations and entities --------------------------------------------------------------


def test_signals_then_call_return_the_operation_result(host):
    # Mirrors: DurableOrchestrationContext.SignalEntity / CallEntityAsync (out-of-proc shim:
    # OutOfProcOrchestrationShim, AsyncActionType.SignalEntity / CallEntity). Operations from one sender
    # reach the entity in the order sent, so the call sees every earlier signal; its result comes back
    # to the orchestrator (TaskEntityShim.ExecuteOutOfProcBatch sends a ResponseMessage to the caller).
    done = run(host, "signal_then_call", {"key": "sc", "n": 5})
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == {"after_add": 15, "current": 15}
    assert read(host, "sc") == {"exists": True, "state": 15}


def test_history_records_the_request_and_its_answer(host):
    # Mirrors: the orchestration's history as DurableTask.Core records SendEvent: an EventSent to the
    # entity's instance @name@key (EntityId.GetSchedulerIdFromEntityId, the name lower-cased), named "op"
    # (EntityMessageEventNames.RequestMessageEventName), its Input the RequestMessage whose "id" the
    # Python SDK reads (TaskOrchestrationExecutor.process_event, EVENT_SENT); the answer is an EventRaised
    # named by that id (EntityMessageEventNames.ResponseMessageEventName) holding the ResponseMessage.
    reply = call("POST", f"{host.api_url}/start/signal_then_call", {"key": "hist", "n": 1})
    iid = reply.json["id"]
    finished(host, iid)
    events = status(host, iid, "?showHistory=true&showHistoryOutput=true").json["historyEvents"]
    sent = [e for e in events if e["EventType"] == "EventSent"]
    assert [e["EventId"] for e in sent] == [0, 1, 2]  # a signal takes a task id too, as in the SDK
    assert {e["InstanceId"] for e in sent} == {"@counter@hist"} and {e["Name"] for e in sent} == {"op"}
    signal, first_call = sent[0]["Input"], sent[1]["Input"]
    assert signal["signal"] is True and signal["op"] == "add" and signal["input"] == '"1"'
    assert "signal" not in first_call and first_call["parent"] == iid
    answers = {e["Name"]: e["Input"] for e in events if e["EventType"] == "EventRaised"}
    assert answers[first_call["id"]] == {"result": "11"}  # no exceptionType: a result, not an error


def test_an_operation_error_is_raised_in_the_orchestrator(host):
    # Mirrors: TaskEntityShim.ExecuteOutOfProcBatch answers a failed operation with
    # ResponseMessage{result, exceptionType: "Error"}; the SDK (models/entities/ResponseMessage.from_dict,
    # TaskOrchestrationExecutor.set_task_value) then raises Exception(<the operation's error message>).
    done = run(host, "call_that_fails")
    assert done["output"] == {"caught": "counter f cannot divide", "type": "Exception"}
    uncaught = run(host, "call_that_fails_uncaught")
    assert uncaught["runtimeStatus"] == "Failed"
    assert "counter g cannot fly" in uncaught["output"]


def test_calling_an_entity_that_is_not_a_function_fails_the_orchestration(host):
    # Mirrors: DurableTaskExtension.ThrowIfFunctionDoesNotExist(name, FunctionType.Entity), called when an
    # orchestration signals or calls an entity: the orchestration fails naming the missing function.
    done = run(host, "call_unknown_entity")
    assert done["runtimeStatus"] == "Failed"
    assert "@nobody@x" in done["output"] and "is not an entity function" in done["output"]


def test_an_entity_made_with_entity_create_and_a_generic_trigger(host):
    # Mirrors: the Python worker binds any function whose trigger type is entityTrigger
    # (azure.functions.durable_functions.EnitityTriggerConverter: the value becomes func.EntityContext),
    # so df.Entity.create(fn) under a generic trigger is an entity as well; entity names are
    # case-insensitive (FunctionName, EntityId lower-cases them).
    assert run(host, "call_tally")["output"] == [2, 5]
    assert "Tally: entityTrigger" in host.host.banner()


def test_calls_in_task_all_are_answered_each_to_its_task(host):
    # Mirrors: each CallEntity waits for the response named by its own request id; one entity applies
    # its operations one at a time (TaskEntityShim), so the two adds on p1 give 1 and 2.
    done = run(host, "call_in_parallel", ["p1", "p2", "p1"])
    assert done["output"] == [1, 1, 2]


def test_operations_reach_the_entity_in_the_order_sent(host):
    # Mirrors: in-order delivery of entity messages from one sender (MessageSorter: the extension orders
    # the operations of each sender), across episodes of the orchestration.
    done = run(host, "ordered_signals", "ord")
    assert done["output"] == ["a", "b", "c"]


def test_signals_of_the_last_episode_are_sent(host):
    # Mirrors: the out-of-proc shim replays every action of the orchestrator's final answer, so signals
    # sent in the episode that completes the orchestration still reach the entity (fire and forget).
    assert run(host, "signal_and_finish", "last")["output"] == "sent"
    host.wait_until_idle()
    assert read(host, "last") == {"exists": True, "state": 11}


def _failure_lines(caplog: pytest.LogCaptureFixture, operation: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if f"failed '{operation}' operation" in r.getMessage()]


FAILED_LINE = (
    r"(@counter@\w+): Function 'counter \(Entity\)' failed 'fail' operation [0-9a-f-]{36} after [\d.]+ms "
    r"with exception (.*)\. Input: (.*)\. IsReplay: False\. HubName: EntityHub\. AppName: .*\. SlotName: .*\."
)


def test_a_failed_operation_is_logged_as_the_extension_logs_it(host, caplog):
    # Mirrors: TaskEntityShim.ExecuteOutOfProcBatch traces each failed result with
    # EndToEndTraceHelper.OperationFailed: an Error of Host.Triggers.DurableTask, "{instanceId}: Function
    # '{name} (Entity)' failed '{operation}' operation {id} after {duration}ms with exception {exception}.
    # Input: {input}. ...", the payloads redacted to their length (SanitizeString) unless
    # tracing.traceInputsAndOutputs is on. A call's failure and a signal's (which nobody else sees) alike.
    caplog.set_level(logging.INFO, logger="devhost")
    run(host, "call_that_fails")
    [called] = _failure_lines(caplog, "fail")
    assert called.levelno == logging.ERROR
    match = re.fullmatch(FAILED_LINE, called.getMessage())
    assert match is not None, called.getMessage()
    assert match.group(1) == "@counter@f"
    assert re.fullmatch(r"\(Redacted \d+ characters\)", match.group(2))
    assert re.fullmatch(r"\(Redacted \d+ characters\)", match.group(3))  # the input "divide", as sent
    caplog.clear()
    assert webhook(host, "POST", "entities/Counter/sig?op=fail", "swim").status == 202
    host.wait_until_idle()
    [signalled] = _failure_lines(caplog, "fail")
    assert re.fullmatch(FAILED_LINE, signalled.getMessage()).group(1) == "@counter@sig"


def test_trace_inputs_and_outputs_shows_the_failed_operations_payloads(tmp_path: Path, caplog):
    # Mirrors: with host.json extensions.durableTask.tracing.traceInputsAndOutputs the ILogger gets the
    # raw input and exception (EndToEndTraceHelper's shouldTraceRawData).
    app = tmp_path / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", ".devhost"))
    host_json = json.loads((APP / "host.json").read_text())
    host_json["extensions"]["durableTask"]["tracing"] = {"traceInputsAndOutputs": True}
    (app / "host.json").write_text(json.dumps(host_json))
    caplog.set_level(logging.INFO, logger="devhost")
    with run_devhost(app) as raw_host:
        assert webhook(raw_host, "POST", "entities/Counter/k?op=fail", "swim").status == 202
        raw_host.wait_until_idle()
    [line] = _failure_lines(caplog, "fail")
    match = re.fullmatch(FAILED_LINE, line.getMessage())
    assert match is not None, line.getMessage()
    # The error the SDK reported for the operation, and the input as the webhook queued it.
    assert match.group(2) and "Redacted" not in match.group(2) and match.group(3) == '"swim"'


# --- the SDK client -------------------------------------------------------------------------------


def test_client_signal_entity_and_read_entity_state(host):
    # Mirrors: DurableOrchestrationClient.read_entity_state / signal_entity (azure-functions-durable,
    # models/DurableOrchestrationClient.py) over the extension's HttpApiHandler entity route:
    # HandleGetEntityRequestAsync (200 with the state, 404 when the entity does not exist) and
    # HandlePostEntityOperationRequestAsync (202).
    assert read(host, "cl") == {"exists": False, "state": None}
    assert call("POST", f"{host.api_url}/entity/Counter/cl?op=add", 7).status == 202
    host.wait_until_idle()
    assert read(host, "cl") == {"exists": True, "state": 7}
    assert call("POST", f"{host.api_url}/entity/counter/cl?op=add", 3).status == 202  # name: any case
    host.wait_until_idle()
    assert read(host, "cl") == {"exists": True, "state": 10}


def test_client_signal_to_a_name_that_is_no_entity_function_fails(host):
    # Mirrors: DurableClient.SignalEntityAsync checks the entity function exists in the app
    # (ThrowIfFunctionDoesNotExist), and HttpApiHandler answers the ArgumentException with 400; the SDK
    # client raises on any status other than 202, so the HTTP function fails.
    assert call("POST", f"{host.api_url}/entity/Nobody/x?op=add", 1).status == 500
    reply = webhook(host, "POST", "entities/Nobody/x?op=add", 1)
    assert reply.status == 400 and "is not an entity function" in reply.json["Message"]


# --- the webhooks ---------------------------------------------------------------------------------


def test_webhook_signal_and_state(host):
    # Mirrors: HttpApiHandler, route entities/{entityName}/{entityKey}: GET the state (404 if none),
    # POST ?op= signals with the body as input (application/json: the JSON value; other content types:
    # the text as a string), DELETE signals the "delete" operation.
    assert webhook(host, "GET", "entities/Counter/wh").status == 404
    # The Python SDK decodes an operation's input twice (DurableEntityContext.get_input): it is JSON text
    # inside a JSON string, which is what its client sends and what a text body holding JSON becomes.
    assert webhook(host, "POST", "entities/Counter/wh?op=add", "4").status == 202
    host.wait_until_idle()
    reply = webhook(host, "GET", "entities/Counter/wh")
    assert reply.status == 200 and reply.json == 4
    plain = webhook(
        host,
        "POST",
        "entities/Counter/txt?op=remember",
        raw=b'"hello"',
        headers={"Content-Type": "text/plain"},
    )
    assert plain.status == 202
    host.wait_until_idle()
    assert webhook(host, "GET", "entities/Counter/txt").json == ["hello"]
    bad = webhook(host, "POST", "entities/Counter/wh?op=add", raw=b"{nope")
    assert bad.status == 400 and "JSON" in bad.json["Message"]
    assert webhook(host, "DELETE", "entities/Counter/wh").status == 202
    host.wait_until_idle()
    assert webhook(host, "GET", "entities/Counter/wh").status == 404
    assert read(host, "wh") == {"exists": False, "state": None}


def test_entity_query_route(host):
    # Mirrors: HttpApiHandler.HandleListEntitiesRequestAsync, GET entities/{entityName?}: the existing
    # entities as DurableEntityStatus {entityId: {name, key}, lastOperationTime, state}, the state only
    # with fetchState=true, "top" pages with x-ms-continuation-token.
    for key in ("q1", "q2", "q3"):
        assert webhook(host, "POST", f"entities/Counter/{key}?op=add", "1").status == 202
    host.wait_until_idle()
    listed = webhook(host, "GET", "entities/counter?fetchState=true").json
    mine = {e["entityId"]["key"]: e for e in listed if e["entityId"]["key"] in ("q1", "q2", "q3")}
    assert {k: e["state"] for k, e in mine.items()} == {"q1": 1, "q2": 1, "q3": 1}
    assert {e["entityId"]["name"] for e in listed} == {"counter"}
    assert mine["q1"]["lastOperationTime"].endswith("Z")
    assert all(e["state"] is None for e in webhook(host, "GET", "entities/Counter").json)
    seen, token = [], None
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        page = webhook(host, "GET", "entities/Counter?top=2", headers=headers)
        assert page.status == 200 and len(page.json) <= 2
        seen += [e["entityId"]["key"] for e in page.json]
        token = page.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert seen == sorted(e["entityId"]["key"] for e in listed)
    everything = webhook(host, "GET", "entities").json
    assert {e["entityId"]["key"] for e in listed} <= {e["entityId"]["key"] for e in everything}


def test_orchestration_ids_starting_with_at_are_refused(host):
    # Mirrors: instance ids beginning with '@' are entity ids (@name@key); the extension refuses them for
    # orchestrations (DurableClient.StartNewAsync).
    reply = webhook(host, "POST", "orchestrators/signal_then_call/@counter@x", {"key": "x", "n": 1})
    assert reply.status == 400


HOSTILE = [
    "..",
    "%2E%2E",
    "%00",
    "a%2Fb",
    "%5C",
    "x" * 2000,
    "%F0%9F%98%80",
    "%ED%A0%80",
    "%C0%AE",
    "'%3B--",
    "@a@b",
]


@pytest.mark.parametrize("segment", HOSTILE)
def test_entity_routes_answer_hostile_names_and_bodies_without_failing(host, segment):
    # As the rest of devhost's management API (tests/reliability/test_fuzz_api.py): below 500, and a JSON
    # message for every 4xx, whatever the name, key or body.
    requests = [
        ("GET", f"entities/{segment}/{segment}", None, None),
        ("GET", f"entities/{segment}?top={segment}&fetchState={segment}", None, None),
        ("POST", f"entities/{segment}/k?op=add", "1", None),
        ("POST", f"entities/Counter/{segment}?op={segment}", None, b"\xff\xfe{"),
        ("DELETE", f"entities/{segment}/{segment}", None, None),
    ]
    for method, path, body, raw in requests:
        reply = webhook(host, method, path, body, raw=raw)
        assert reply.status < 500, (method, path, reply.status, reply.text[:200])
        if reply.status >= 400:
            assert reply.json["Message"], (method, path)
    host.wait_until_idle()


# --- durability -------------------------------------------------------------------------------------


def test_entity_state_survives_a_restart(tmp_path: Path):
    # Mirrors: an entity's state is part of its durable instance in the task hub (the extension keeps it in
    # the entity's SchedulerState, which DurableEntityStatus reads back), so a new host process reads what
    # the last one committed.
    state = tmp_path / "state.db"
    with run_devhost(APP, state=state, in_memory=False) as first:
        assert run(first, "signal_then_call", {"key": "rs", "n": 2})["output"]["current"] == 12
    with run_devhost(APP, state=state, in_memory=False) as second:
        assert read(second, "rs") == {"exists": True, "state": 12}
        assert run(second, "signal_then_call", {"key": "rs", "n": 1})["output"]["current"] == 23


def test_operations_apply_exactly_once_across_kill_9(tmp_path: Path):
    # Mirrors: the extension's exactly-once entity processing (the batch's new state, the consumed
    # messages and the messages it sends are committed together), here under kill -9 of the host.
    proc = DevHostProcess(APP, tmp_path / "state.db").start()
    api = f"{proc.base_url}/api"
    ids = []
    try:
        for i in range(6):
            reply = call("POST", f"{api}/start/signal_then_call", {"key": f"k{i % 2}", "n": 20})
            assert reply.status == 202, reply.text
            ids.append(reply.json["id"])
        time.sleep(0.05)
        proc.kill9()
        proc.start()
        deadline = time.monotonic() + 60
        for iid in ids:
            while True:
                reply = call("GET", f"{proc.base_url}{WEBHOOK}/instances/{iid}")
                if reply.status == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert reply.json["runtimeStatus"] == "Completed", reply.text
        # 3 orchestrations per key, each: 20 signals of 1, then a call adding 10.
        for key in ("k0", "k1"):
            assert json.loads(call("GET", f"{proc.base_url}{WEBHOOK}/entities/Counter/{key}").text) == 90
    finally:
        proc.stop()
