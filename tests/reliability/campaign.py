"""The crash campaign: many runs on devhost, ``kill -9`` at random moments, then an audit of everything.

``python -m tests.reliability.campaign`` (``make crash``) runs the full campaign; ``--quick`` is the reduced
form CI runs (``tests/reliability/test_crash_campaign.py``). What it does:

1. Computes every run's expected output with the in-memory runner (same input, same approval answers).
2. Starts devhost as a subprocess on a SQLite state file, with the campaign's workflows
   (``tests.reliability.workflows``: a fan-out of 200 side-effecting, slow steps, and a map of 300 such
   items, 50 at a time, some failing for good and collected, one retried) and the
   ``SIDE_EFFECT_LEDGER`` app setting, so side effects are recorded in a file that survives the kills.
3. Starts the runs in waves (the demo workflows' scenarios and the fan-outs), answers their approvals
   through the workflow API as they come up, and ``kill -9``s the host after a random delay (seeded RNG)
   -- mid-activity and mid-episode -- then restarts it on the same state file, again and again.
4. Lets everything finish, then checks: every run Completed with the in-memory output, nothing stuck,
   status answers for every instance, histories well-formed (ExecutionStarted first, ExecutionCompleted
   last, every TaskCompleted/TaskFailed matching one TaskScheduled, every TimerFired one TimerCreated,
   episodes bracketed by OrchestratorStarted/OrchestratorCompleted), and every side effect recorded exactly
   once per step although steps ran more than once; for the maps, every item's effect once (by the item
   index each effect records) and the gathered output the in-memory runner gives.
5. Alongside, a second devhost runs ``tests/reliability/entity_app`` (``entity_campaign``): orchestrations
   that signal and call counter entities, killed and restarted with the first; afterwards every entity
   operation must have been applied exactly once (none lost, none twice).

6. Agent steps with tool loops (``order_refund``: an agent that looks an order up and refunds it through the
   orders MCP server of ``examples/orders_mcp``, started over stdio for each call, a manager approving
   each refund through a respond link issued to them), killed mid-call too (``mid-agent-call``). The MCP
   server's ledger proves that no refund was made twice, that none is missing, and that a call was
   delivered again only when the host died while it ran (every call that finished is recorded in the
   step's history and never made again).

Agents answer with the offline model: the campaign blanks the model-provider settings for itself and
the host.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devhost.durable.history import EventType
from devhost.durable.task_hub_store import SqliteStore
from devhost.testing import DevHostProcess
from engine import InMemoryRunner
from engine.core.loop_calls import call_idempotency_key
from engine.core.supersteps import idempotency_key
from examples.orders_mcp.ledger import SETTING as ORDERS_LEDGER_SETTING
from examples.orders_mcp.ledger import Ledger as OrdersLedger
from executors.ledger import SETTING as LEDGER_SETTING
from executors.ledger import SideEffectLedger
from tests.demos.scenarios import SCENARIOS, run_in_memory
from tests.durable.http import Reply, call
from tests.reliability.entity_campaign import APP as ENTITY_APP
from tests.reliability.entity_campaign import (
    ENTITY_FUNCTION,
    EntityDriver,
    audit_entity_store,
    plan_entity_runs,
)
from tests.reliability.workflows import ALL as CAMPAIGN_WORKFLOWS
from tests.reliability.workflows import (
    ASKS,
    EFFECT_PREFIX,
    ITEM_SIGN_OFF,
    MAP_ITEM,
    MAPS,
    Batch,
    failing_items,
)
from workflows import ALL as APP_WORKFLOWS

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tests.reliability.workflows"
FINISHED = ("Completed", "Failed", "Terminated")
ACTIVITY = "run_step"
CALL_ACTIVITY = "run_step_call"  # every agent step's model and tool calls
LOOP_ORCHESTRATOR = "workflow_step_loop"  # an agent step's orchestration
AGENT_WORKFLOW, AGENT, REFUND_APPROVAL = "order_refund", "refund_agent", "refund_agent.refund"
KILL_MODES = ("random", "mid-activity", "mid-episode", "mid-agent-call")
PROVIDER_PREFIXES = ("OPENAI_", "AZURE_OPENAI_")
WORKFLOWS = {w.name: w for w in [*APP_WORKFLOWS, *CAMPAIGN_WORKFLOWS]}

Answers = dict[str, dict[str, Any]]

# The demo workflows' scenarios: (input, {approval node id: response}); every one completes without a
# deadline passing. The parity scenarios of tests/demos plus a rejection of each approval.
DEMO_SCENARIOS: dict[str, list[tuple[dict[str, Any], Answers]]] = {
    **SCENARIOS,
    "expense_claim": [
        *SCENARIOS["expense_claim"],
        (
            {"employee": "cy", "title": "Travel", "amount": 1250},
            {"manager_approval": {"approved": False, "comment": "no"}},
        ),
    ],
    "order_cancellation": [
        *SCENARIOS["order_cancellation"],
        (
            {"order_id": "ORD-103000", "reason": "Duplicate order"},
            {"manager_approval": {"approved": False, "comment": "Call the customer first"}},
        ),
    ],
}


@dataclass(frozen=True)
class CampaignConfig:
    seed: int = 1729
    kills: int = 24
    demo_rounds: int = 6  # every demo scenario is started this many times
    fan_workflow: str = "r_fan200"
    fan_runs: int = 8
    map_workflow: str = "r_map300"
    map_runs: int = 4
    map_fail_every: int = 97  # these items fail for good (3 of 300), collected as ItemFailed
    asks_workflow: str = "r_asks150"  # an approval per item, in partitions
    asks_runs: int = 2
    step_delay_ms: int = 400  # upper bound of each fan-out step's two sleeps
    min_uptime: float = 0.4  # seconds the host runs between a restart and the next kill ...
    max_uptime: float = 3.0  # ... drawn uniformly from the seeded RNG
    settle_timeout: float = 240.0  # after the last restart: how long runs may take to finish
    entity_runs: int = 48  # orchestrations of the entity app, each signalling and calling one counter
    entity_keys: int = 4  # counters they share
    entity_rounds: int = 6  # per run: rounds of ``entity_signals`` signals, a slow activity, one call
    entity_signals: int = 8
    entity_delay_ms: int = 600  # upper bound of the activity's sleep
    entity_kill_wait: float = 0.5  # after the workflow host's kill: at most this long for an entity batch
    agent_runs: int = 12  # order_refund runs: an agent with the orders MCP server's tools
    agent_call_delay_ms: int = 300  # each MCP tool call takes this long (so kills land in calls)

    @classmethod
    def quick(cls) -> CampaignConfig:
        """The reduced form CI runs: a few kills, small sizes."""
        return cls(
            kills=4,
            demo_rounds=1,
            fan_workflow="r_fan20",
            fan_runs=2,
            map_workflow="r_map30",
            map_runs=1,
            map_fail_every=13,
            asks_workflow="r_asks30",
            asks_runs=1,
            step_delay_ms=300,
            min_uptime=0.4,
            max_uptime=1.5,
            settle_timeout=90.0,
            entity_runs=6,
            entity_keys=2,
            entity_rounds=3,
            entity_signals=4,
            entity_delay_ms=400,
            agent_runs=3,
        )


@dataclass
class Run:
    workflow: str
    body: dict[str, Any]
    answers: Answers
    instance_id: str
    expected: list[Any] = field(default_factory=list)
    due: bool = False  # its wave has come: start it (again, if the host was down)
    started: bool = False
    answered: set[str] = field(default_factory=set)
    final: dict[str, Any] | None = None


@dataclass
class CampaignResult:
    seed: int
    kills: int = 0
    kills_mid_activity: int = 0  # the host's log shows run_step executions in flight at the kill
    kills_mid_episode: int = 0  # ... an orchestrator function (an episode) in flight
    kills_mid_side_effect: int = 0  # the ledger shows side-effecting steps begun, not ended
    runs: int = 0
    completed_as_expected: int = 0
    lost_runs: int = 0  # not Completed, wrong output, or never finished
    stuck_runs: int = 0
    malformed_histories: int = 0
    malformed: set[str] = field(default_factory=set, repr=False)
    activity_executions: int = 0  # every run_step execution the host started (its log)
    activities_scheduled: int = 0  # TaskScheduled events of run_step in the histories
    activity_re_executions: int = 0
    ledger_step_executions: int = 0  # executions of the side-effecting steps (ledger)
    ledger_re_executions: int = 0
    ledger_interrupted_executions: int = 0  # cut short by a kill, ran again after the restart
    side_effects: int = 0
    expected_side_effects: int = 0
    duplicate_side_effects: int = 0
    missing_side_effects: int = 0
    approvals_answered: int = 0
    map_runs: int = 0
    map_runs_gathered: int = 0  # Completed with the gathered output the in-memory runner gives
    map_items: int = 0  # items of every map run: each must have had its side effect exactly once
    map_items_failed: int = 0  # of them, failed for good (after their effect) and collected
    map_item_effects: int = 0  # item side effects recorded
    map_items_duplicated: int = 0  # items whose effect was recorded more than once
    map_items_missing: int = 0  # items whose effect was never recorded
    map_item_executions: int = 0  # executions of map items (ledger), retries and re-runs included
    map_item_re_executions: int = 0
    map_item_interrupted: int = 0  # cut short by a kill
    approval_map_runs: int = 0  # maps of one approval per item, asked in partitions
    approval_map_runs_gathered: int = 0  # Completed with every sign-off, as in memory
    approval_map_requests: int = 0
    instances: int = 0  # every orchestration instance in the state file (runs, map partitions)
    largest_history: int = 0  # events of the largest stored history: a partitioned map keeps it bounded
    kills_mid_entity_batch: int = 0  # the entity host's log shows an entity function executing
    entity_runs: int = 0
    entity_lost_runs: int = 0
    entity_operations_expected: int = 0
    entity_operations_applied: int = 0
    entity_lost_operations: int = 0
    entity_duplicate_operations: int = 0
    entity_malformed_histories: int = 0
    kills_mid_agent_call: int = 0  # the host's log shows an agent's call activity executing
    agent_runs: int = 0
    agent_runs_completed: int = 0  # Completed with the in-memory output
    agent_calls_scheduled: int = 0  # run_step_call TaskScheduled events in every agent step's history
    agent_call_executions: int = 0  # every run_step_call execution the host started (its log)
    agent_call_re_executions: int = 0
    agent_tool_calls: int = 0  # calls the MCP server received (its ledger)
    agent_tool_calls_repeated: int = 0  # calls received again under a key already received
    agent_repeats_without_kill: int = 0  # ... with no kill between the two: a finished call made again
    agent_refunds: int = 0
    agent_refunds_expected: int = 0
    agent_duplicate_refunds: int = 0
    agent_missing_refunds: int = 0
    elapsed_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [
            f"crash campaign (seed {self.seed}): {'PASSED' if self.ok else 'FAILED'} "
            f"in {self.elapsed_seconds:.0f} s",
            f"  kills (kill -9)                 {self.kills}: {self.kills_mid_activity} mid-activity, "
            f"{self.kills_mid_episode} mid-episode, {self.kills_mid_side_effect} mid-side-effecting-step",
            f"  runs                            {self.runs} ({self.completed_as_expected} completed with "
            "the in-memory output)",
            f"  approvals answered              {self.approvals_answered}",
            f"  lost runs                       {self.lost_runs}",
            f"  stuck runs                      {self.stuck_runs}",
            f"  malformed histories             {self.malformed_histories}",
            f"  activity executions             {self.activity_executions} for "
            f"{self.activities_scheduled} scheduled: {self.activity_re_executions} re-executions",
            f"  side-effecting step executions  {self.ledger_step_executions}: "
            f"{self.ledger_re_executions} re-executions, {self.ledger_interrupted_executions} cut short",
            f"  side effects                    {self.side_effects} recorded, "
            f"{self.expected_side_effects} expected",
            f"  duplicate side effects          {self.duplicate_side_effects}",
            f"  missing side effects            {self.missing_side_effects}",
            f"  map runs                        {self.map_runs} ({self.map_runs_gathered} gathered the "
            f"in-memory output): {self.map_items} items, {self.map_items_failed} failed and collected",
            f"  approval maps                   {self.approval_map_runs} ({self.approval_map_runs_gathered} "
            f"gathered the in-memory output): {self.approval_map_requests} requests, in partitions",
            f"  map item side effects           {self.map_item_effects} recorded: "
            f"{self.map_items_duplicated} items twice or more, {self.map_items_missing} items never",
            f"  map item executions             {self.map_item_executions}: "
            f"{self.map_item_re_executions} re-executions, {self.map_item_interrupted} cut short",
            f"  largest stored history          {self.largest_history} events "
            f"(of {self.instances} instances; at most {MAX_HISTORY_EVENTS})",
            f"  entity runs                     {self.entity_runs} ({self.entity_lost_runs} lost), "
            f"{self.kills_mid_entity_batch} kills mid-entity-batch",
            f"  entity operations               {self.entity_operations_applied} applied, "
            f"{self.entity_operations_expected} expected",
            f"  lost / duplicate operations     {self.entity_lost_operations} / "
            f"{self.entity_duplicate_operations}",
            f"  malformed entity-run histories  {self.entity_malformed_histories}",
            f"  agent runs (MCP tools)          {self.agent_runs} ({self.agent_runs_completed} completed "
            f"with the in-memory output), {self.kills_mid_agent_call} kills mid-agent-call",
            f"  agent call executions           {self.agent_call_executions} for "
            f"{self.agent_calls_scheduled} scheduled: {self.agent_call_re_executions} re-executions",
            f"  MCP tool calls (server ledger)  {self.agent_tool_calls}: {self.agent_tool_calls_repeated} "
            f"delivered again after a kill, {self.agent_repeats_without_kill} repeated without one",
            f"  refunds                         {self.agent_refunds} made, {self.agent_refunds_expected} "
            f"expected: {self.agent_duplicate_refunds} duplicate, {self.agent_missing_refunds} missing",
        ]
        lines += [f"  problem: {p}" for p in self.problems[:40]]
        if len(self.problems) > 40:
            lines.append(f"  ... and {len(self.problems) - 40} more problems")
        return "\n".join(lines)


# --- HTTP that tolerates a host that just died --------------------------------------------------------


def _try(method: str, url: str, body: Any = None) -> Reply | None:
    try:
        return call(method, url, body)
    except (OSError, http.client.HTTPException):
        return None


# --- the plan -----------------------------------------------------------------------------------------


def plan_runs(config: CampaignConfig) -> list[Run]:
    runs: list[Run] = []
    for round_no in range(config.demo_rounds):
        for name, scenarios in DEMO_SCENARIOS.items():
            for index, (body, answers) in enumerate(scenarios):
                runs.append(Run(name, body, answers, f"crash-{name}-{index}-{round_no}"))
    for index in range(config.fan_runs):
        body = {"seed": index + 1, "delay_ms": config.step_delay_ms}
        runs.append(Run(config.fan_workflow, body, {}, f"crash-{config.fan_workflow}-{index}"))
    for index in range(config.map_runs):
        body = {
            "seed": 100 + index,
            "items": MAPS[config.map_workflow],
            "delay_ms": config.step_delay_ms,
            "fail_every": config.map_fail_every,
        }
        runs.append(Run(config.map_workflow, body, {}, f"crash-{config.map_workflow}-{index}"))
    for index in range(config.asks_runs):
        body = {"seed": 200 + index, "items": ASKS[config.asks_workflow]}
        answers = {ITEM_SIGN_OFF: {"approved": True, "comment": "signed off"}}
        runs.append(Run(config.asks_workflow, body, answers, f"crash-{config.asks_workflow}-{index}"))
    for index in range(config.agent_runs):
        body = {"order_id": f"ORD-1{100 + index:05d}", "reason": "Arrived broken"}
        approved = index % 4 != 3  # every fourth refund is refused: the model is told, nothing is refunded
        answers = {
            REFUND_APPROVAL: {"approved": approved, "comment": "ok" if approved else "call them first"}
        }
        runs.append(Run(AGENT_WORKFLOW, body, answers, f"crash-agent-{index}"))
    random.Random(config.seed).shuffle(runs)
    return runs


async def _expected_outputs(runs: list[Run]) -> None:
    cache: dict[str, list[Any]] = {}
    for run in runs:
        # An agent run's output names its refund, whose id derives from the run's instance id.
        iid = run.instance_id if run.workflow == AGENT_WORKFLOW else None
        key = json.dumps([run.workflow, run.body, run.answers, iid], sort_keys=True)
        if key not in cache:
            workflow = WORKFLOWS[run.workflow]
            result = await run_in_memory(InMemoryRunner(), workflow, run.body, run.answers, instance_id=iid)
            if result.status != "completed":
                raise RuntimeError(f"{run.workflow} {run.body}: in memory the run ends {result.status}")
            cache[key] = result.outputs_json()
        run.expected = cache[key]


def expected_effects(run: Run) -> dict[str, int]:
    """Executor id -> side effects the run must have recorded once it completed."""
    if run.workflow == "order_cancellation":
        cancelled = any(isinstance(o, dict) and o.get("status") == "cancelled" for o in run.expected)
        return {"execute_cancellation": 1} if cancelled else {}
    if run.workflow in ("r_fan200", "r_fan20"):
        width = len(WORKFLOWS[run.workflow].nodes) - 2
        return {f"{EFFECT_PREFIX}{i}": 1 for i in range(width)}
    if run.workflow in MAPS:
        return {MAP_ITEM: run.body["items"]}  # failing items too: they fail after their effect
    return {}


def audit_maps(runs: list[Run], ledger: SideEffectLedger, result: CampaignResult) -> None:
    """Every map item's side effect exactly once (by the index it recorded), and the gathered output."""
    recorded = ledger.results_by_instance(MAP_ITEM)
    counts = ledger.counts(MAP_ITEM)
    result.map_item_executions = counts.executions
    result.map_item_re_executions = counts.re_executions
    result.map_item_interrupted = counts.interrupted
    for run in runs:
        if run.workflow in ASKS:
            result.approval_map_runs += 1
            result.approval_map_requests += run.body["items"]
            final = run.final or {}
            if final.get("runtimeStatus") == "Completed" and final.get("outputs") == run.expected:
                result.approval_map_runs_gathered += 1
        if run.workflow not in MAPS:
            continue
        result.map_runs += 1
        items = run.body["items"]
        result.map_items += items
        result.map_items_failed += len(failing_items(Batch.model_validate(run.body)))
        final = run.final or {}
        if final.get("runtimeStatus") == "Completed" and final.get("outputs") == run.expected:
            result.map_runs_gathered += 1
        times: dict[int, int] = {}
        for text in recorded.get(run.instance_id, []):
            index = json.loads(text)["index"]
            times[index] = times.get(index, 0) + 1
        result.map_item_effects += sum(times.values())
        twice = sorted(i for i, n in times.items() if n > 1)
        never = [i for i in range(items) if i not in times]
        result.map_items_duplicated += len(twice)
        result.map_items_missing += len(never)
        if twice:
            result.problems.append(f"{run.instance_id}: map items {twice[:10]} had their side effect twice")
        if never:
            result.problems.append(f"{run.instance_id}: map items {never[:10]} never had their side effect")


# --- driving ------------------------------------------------------------------------------------------

_LINE = re.compile(r"(Executing|Executed) 'Functions\.([^']+)' \((?:Reason='[^']*', |\w+, )?Id=([0-9a-f-]+)")


class LogWatcher:
    """Follows the host's log: which functions are executing right now (orchestrators, activities)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = ""
        self.running: dict[str, str] = {}  # invocation id -> function name

    def restart(self) -> None:
        """A new host process: what the old one was executing is gone."""
        self.poll()
        self.running.clear()

    def poll(self) -> dict[str, str]:
        if self.path.exists():
            with self.path.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read()
            self.offset += len(chunk)
            text = self.partial + chunk.decode("utf-8", errors="replace")
            lines = text.split("\n")
            self.partial = lines.pop()
            for line in lines:
                m = _LINE.search(line)
                if m is None:
                    continue
                what, name, invocation = m.groups()
                if what == "Executing":
                    self.running[invocation] = name
                else:
                    self.running.pop(invocation, None)
        return self.running

    def activities_running(self) -> bool:
        return any(name == ACTIVITY for name in self.poll().values())

    def calls_running(self) -> bool:
        return any(name == CALL_ACTIVITY for name in self.poll().values())

    def episodes_running(self) -> bool:
        return any(name in WORKFLOWS for name in self.poll().values())


class Driver:
    def __init__(
        self,
        process: DevHostProcess,
        runs: list[Run],
        result: CampaignResult,
        also: Callable[[], int] | None = None,
    ) -> None:
        self.process = process
        self.runs = runs
        self.result = result
        self.also = also  # another part's pass, driven along (it returns its runs still open)
        self.api = f"{process.base_url}/api/workflows"

    def run_uri(self, run: Run) -> str:
        return f"{self.api}/{run.workflow}/runs/{run.instance_id}"

    def start(self, run: Run) -> None:
        run.due = True
        reply = _try("POST", f"{self.api}/{run.workflow}?instanceId={run.instance_id}", run.body)
        if reply is None:
            return  # the host is not up: try again on the next pass
        if reply.status in (202, 409):  # 409: started by an earlier attempt whose reply was lost
            run.started = True
        else:
            self.result.problems.append(f"{run.instance_id}: start answered {reply.status} {reply.body}")
            run.started = True
            run.final = {"runtimeStatus": "NotStarted", "outputs": None}

    def step(self, stop: Callable[[], bool] = lambda: False) -> int:
        """One pass over the runs: start due ones, answer approvals, notice endings; returns runs open.

        ``stop`` is asked after every request: the pass ends early when it says so.
        """
        open_runs = 0
        for run in self.runs:
            if run.final is not None or not run.due:
                continue
            open_runs += 1
            if stop():
                continue
            if not run.started:
                self.start(run)
                continue
            reply = _try("GET", self.run_uri(run))
            if reply is None or reply.status != 200 or not isinstance(reply.body, dict):
                continue
            view = reply.body
            if view.get("runtimeStatus") in FINISHED:
                run.final = view
                open_runs -= 1
                continue
            for pending in view.get("pendingApprovals") or []:
                if pending["request_id"] in run.answered:
                    continue
                answer = run.answers.get(pending["approval_id"])
                if answer is None:
                    self.result.problems.append(
                        f"{run.instance_id}: unexpected approval {pending['approval_id']!r}"
                    )
                    run.answered.add(pending["request_id"])
                    continue
                respond = pending["respond_uri"]
                if pending.get("approvers"):  # a named approver answers through a link issued to them
                    link = _try("POST", pending["links_uri"], {"for": pending["approvers"][0]})
                    if link is None or link.status != 201:
                        continue
                    respond = link.body["respond_uri"]
                answered = _try("POST", respond, answer)
                if answered is not None and answered.status in (202, 409):
                    run.answered.add(pending["request_id"])
                    self.result.approvals_answered += answered.status == 202
        if self.also is not None and not stop():
            open_runs += self.also()
        return open_runs

    def drive_until(self, stop: Callable[[], bool], limit: float) -> bool:
        """Drive the runs until ``stop()`` or ``limit`` seconds; True when ``stop()`` said so."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if stop():
                return True
            self.step(stop)
            if stop():
                return True
            time.sleep(0.005)
        return False


# --- the audit ----------------------------------------------------------------------------------------


def check_history(iid: str, events: list[dict[str, Any]]) -> list[str]:
    """Problems with one instance's raw history (empty when well-formed)."""
    problems: list[str] = []
    kinds = [e["EventType"] for e in events]
    body = [
        e
        for e in events
        if e["EventType"] not in (EventType.OrchestratorStarted, EventType.OrchestratorCompleted)
    ]
    if not body or body[0]["EventType"] != EventType.ExecutionStarted:
        problems.append("the first event is not ExecutionStarted")
    if not body or body[-1]["EventType"] != EventType.ExecutionCompleted:
        problems.append("the last event is not ExecutionCompleted")
    if kinds.count(EventType.ExecutionStarted) != 1 or kinds.count(EventType.ExecutionCompleted) != 1:
        problems.append("not exactly one ExecutionStarted and one ExecutionCompleted")
    if events and events[-1]["EventType"] != EventType.OrchestratorCompleted:
        problems.append("the history does not end with OrchestratorCompleted")
    in_episode = False
    for kind in kinds:
        if kind == EventType.OrchestratorStarted:
            if in_episode:
                problems.append("OrchestratorStarted inside an episode")
            in_episode = True
        elif kind == EventType.OrchestratorCompleted:
            if not in_episode:
                problems.append("OrchestratorCompleted without OrchestratorStarted")
            in_episode = False
    scheduled: dict[int, str] = {}
    timers: set[int] = set()
    completed: set[int] = set()
    fired: set[int] = set()
    for e in events:
        kind = e["EventType"]
        if kind == EventType.TaskScheduled:
            if e["EventId"] in scheduled or e["EventId"] in timers:
                problems.append(f"task id {e['EventId']} scheduled twice")
            scheduled[e["EventId"]] = e.get("Name", "")
        elif kind == EventType.TimerCreated:
            if e["EventId"] in timers or e["EventId"] in scheduled:
                problems.append(f"timer id {e['EventId']} created twice")
            timers.add(e["EventId"])
        elif kind in (EventType.TaskCompleted, EventType.TaskFailed):
            task = e.get("TaskScheduledId")
            if task not in scheduled:
                problems.append(f"{EventType(kind).name} for task {task} that was never scheduled")
            if task in completed:
                problems.append(f"task {task} completed twice")
            completed.add(task)
        elif kind == EventType.TimerFired:
            timer = e.get("TimerId")
            if timer not in timers:
                problems.append(f"TimerFired for timer {timer} that was never created")
            if timer in fired:
                problems.append(f"timer {timer} fired twice")
            fired.add(timer)
    unfinished = sorted(set(scheduled) - completed)
    if unfinished:
        problems.append(f"tasks {unfinished[:5]} scheduled but never completed")
    return [f"{iid}: history: {p}" for p in problems]


def check_public_history(iid: str, status: dict[str, Any]) -> list[str]:
    events = status.get("historyEvents") or []
    problems = []
    if not events or events[0]["EventType"] != "ExecutionStarted":
        problems.append("public history does not start with ExecutionStarted")
    if not events or events[-1]["EventType"] != "ExecutionCompleted":
        problems.append("public history does not end with ExecutionCompleted")
    for e in events:
        if e["EventType"] in ("TaskCompleted", "TaskFailed") and not e.get("FunctionName"):
            problems.append(f"{e['EventType']} without a matching TaskScheduled")
    return [f"{iid}: {p}" for p in problems]


def audit(runs: list[Run], process: DevHostProcess, ledger: SideEffectLedger, result: CampaignResult) -> None:
    base = f"{process.base_url}/runtime/webhooks/durabletask/instances"
    for run in runs:
        final = run.final
        if final is None:
            result.stuck_runs += 1
            result.lost_runs += 1
            result.problems.append(f"{run.instance_id}: stuck (never finished)")
            continue
        if final.get("runtimeStatus") != "Completed" or final.get("outputs") != run.expected:
            result.lost_runs += 1
            result.problems.append(
                f"{run.instance_id}: ended {final.get('runtimeStatus')} with {final.get('outputs')!r}, "
                f"error {final.get('error')!r}; expected {run.expected!r}"
            )
        else:
            result.completed_as_expected += 1
        status = _try("GET", f"{base}/{run.instance_id}?showHistory=true")
        if status is None or status.status != 200:
            result.problems.append(f"{run.instance_id}: status answered {status and status.status}")
        else:
            found = check_public_history(run.instance_id, status.body)
            result.problems += found
            if found:
                result.malformed.add(run.instance_id)
    listed = _try("GET", base)
    if listed is None or listed.status != 200:
        result.problems.append("the instance list did not answer")
    else:
        unfinished = [s["instanceId"] for s in listed.body if s["runtimeStatus"] not in FINISHED]
        if unfinished:
            result.problems.append(f"instances not finished: {unfinished[:10]}")

    effects = ledger.effects_by_instance()
    for run in runs:
        for executor_id, wanted in expected_effects(run).items():
            result.expected_side_effects += wanted
            got = effects.pop((run.instance_id, executor_id), 0)
            if got > wanted:
                result.duplicate_side_effects += got - wanted
                result.problems.append(f"{run.instance_id}: {executor_id} had its side effect {got} times")
            elif got < wanted:
                result.missing_side_effects += wanted - got
                result.problems.append(f"{run.instance_id}: {executor_id} had no side effect")
    for (iid, executor_id), got in effects.items():  # effects nobody expected: duplicates as well
        result.duplicate_side_effects += got
        result.problems.append(f"{iid}: unexpected side effect of {executor_id} ({got}x)")
    counts = ledger.counts()
    result.side_effects = counts.side_effects
    result.ledger_step_executions = counts.executions
    result.ledger_re_executions = counts.re_executions
    result.ledger_interrupted_executions = counts.interrupted
    if counts.running:
        result.problems.append(f"{counts.running} side-effecting executions never ended")


def audit_agents(runs: list[Run], orders: OrdersLedger, kills: list[float], result: CampaignResult) -> None:
    """The orders MCP server's ledger: every approved refund made once under its call's key, none for a
    refused one, and a call received again only when a kill fell between its two deliveries."""
    agent_runs = [run for run in runs if run.workflow == AGENT_WORKFLOW]
    result.agent_runs = len(agent_runs)
    result.agent_runs_completed = sum(
        1
        for run in agent_runs
        if (run.final or {}).get("runtimeStatus") == "Completed"
        and (run.final or {}).get("outputs") == run.expected
    )
    refunds: dict[str, list[dict[str, Any]]] = {}
    for made in orders.refunds():
        refunds.setdefault(made["key"], []).append(made)
    result.agent_refunds = sum(len(r) for r in refunds.values())
    for run in agent_runs:
        step = idempotency_key(AGENT_WORKFLOW, run.instance_id, 1, AGENT, 0)
        key = call_idempotency_key(step, "t2.0")  # the refund: the second round's call
        made = refunds.get(key, [])
        if run.answers[REFUND_APPROVAL]["approved"]:
            result.agent_refunds_expected += 1
            if not made:
                result.agent_missing_refunds += 1
                result.problems.append(f"{run.instance_id}: its approved refund was never made")
        elif made:
            result.agent_duplicate_refunds += len(made)
            result.problems.append(f"{run.instance_id}: a refused refund was made")
        if len(made) > 1:
            result.agent_duplicate_refunds += len(made) - 1
            result.problems.append(f"{run.instance_id}: refunded {len(made)} times")
    twice = orders.counts().orders_refunded_twice
    if twice:
        result.agent_duplicate_refunds += twice
        result.problems.append(f"{twice} orders refunded under two keys")
    calls = orders.calls_with_times()
    result.agent_tool_calls = len(calls)
    last_seen: dict[tuple[str, str | None], float] = {}
    for received in calls:
        seen = (received["tool"], received["key"])
        if seen in last_seen:
            result.agent_tool_calls_repeated += 1
            if not any(last_seen[seen] < kill < received["at"] for kill in kills):
                result.agent_repeats_without_kill += 1
                result.problems.append(f"tool call {seen} was made again without a crash between")
        last_seen[seen] = received["at"]


MAX_HISTORY_EVENTS = 3_000


def audit_store(runs: list[Run], state: Path, log: Path, result: CampaignResult) -> None:
    """With the host stopped: the raw histories, and activity executions against scheduled tasks."""
    store = SqliteStore(state)
    try:
        # Every instance, partitions included: none may outgrow the bound a partitioned map keeps.
        instances = store.load().instances
        result.instances = len(instances)
        for instance_id, record in instances.items():
            history = store.load_history(instance_id)
            size = len(history)
            result.largest_history = max(result.largest_history, size)
            if size > MAX_HISTORY_EVENTS:
                result.problems.append(f"{instance_id}: a stored history of {size} events")
            if record.name == LOOP_ORCHESTRATOR:  # an agent step's orchestration: its calls
                found = check_history(instance_id, history)
                result.problems += found
                if found:
                    result.malformed.add(instance_id)
                result.agent_calls_scheduled += sum(
                    1
                    for e in history
                    if e["EventType"] == EventType.TaskScheduled and e.get("Name") == CALL_ACTIVITY
                )
        for run in runs:
            events = store.load_history(run.instance_id)
            found = check_history(run.instance_id, events)
            result.problems += found
            if found:
                result.malformed.add(run.instance_id)
            result.activities_scheduled += sum(
                1 for e in events if e["EventType"] == EventType.TaskScheduled and e.get("Name") == "run_step"
            )
    finally:
        store.close()
    result.malformed_histories = len(result.malformed)
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    result.activity_executions = text.count("Executing 'Functions.run_step' (")
    result.activity_re_executions = result.activity_executions - result.activities_scheduled
    if result.activity_re_executions < 0:
        result.problems.append("fewer activity executions logged than scheduled (log lines lost?)")
    result.agent_call_executions = text.count(f"Executing 'Functions.{CALL_ACTIVITY}'")
    result.agent_call_re_executions = result.agent_call_executions - result.agent_calls_scheduled
    if result.agent_call_re_executions < 0:
        result.problems.append("fewer agent call executions logged than scheduled (log lines lost?)")


@contextlib.contextmanager
def setting(name: str, value: str) -> Iterator[None]:
    """An environment variable set for a while (for this process, and what it starts)."""
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


@contextlib.contextmanager
def offline_agents() -> Iterator[None]:
    """Blank the model-provider settings (empty means unset), here and in the host it starts."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(PROVIDER_PREFIXES)}
    for key in saved:
        os.environ[key] = ""
    try:
        yield
    finally:
        os.environ.update(saved)


def run_campaign(config: CampaignConfig, workdir: Path, *, log: Any = None) -> CampaignResult:
    """Run one campaign in ``workdir`` (state file, ledger, host log); returns the counts and problems."""

    def say(text: str) -> None:
        if log is not None:
            print(text, file=log, flush=True)

    began = time.monotonic()
    rng = random.Random(config.seed)
    result = CampaignResult(seed=config.seed)
    workdir.mkdir(parents=True, exist_ok=True)
    state, ledger_path = workdir / "state.sqlite", workdir / "ledger.sqlite"
    host_log = workdir / "devhost.log"
    for path in (state, ledger_path, host_log):
        for stale in path.parent.glob(path.name + "*"):
            stale.unlink()
    runs = plan_runs(config)
    result.runs = len(runs)
    entity_runs = plan_entity_runs(
        config.entity_runs,
        config.entity_keys,
        config.entity_rounds,
        config.entity_signals,
        config.entity_delay_ms,
    )
    result.entity_runs = len(entity_runs)
    entity_state, entity_log = workdir / "entities.sqlite", workdir / "devhost-entities.log"
    for stale in [*workdir.glob(entity_state.name + "*"), *workdir.glob(entity_log.name)]:
        stale.unlink()
    orders_path = workdir / "orders.sqlite"  # the orders MCP server's ledger, during the campaign
    for stale in [*workdir.glob("orders.sqlite*"), *workdir.glob("expected-orders.sqlite*")]:
        stale.unlink()
    with offline_agents():
        # The in-memory runs (the expected outputs) call the orders server too: into a ledger of their own.
        with setting(ORDERS_LEDGER_SETTING, str(workdir / "expected-orders.sqlite")):
            asyncio.run(_expected_outputs(runs))
        ledger = SideEffectLedger(ledger_path)
        orders = OrdersLedger(orders_path)
        kill_times: list[float] = []
        settings = {
            "WORKFLOW_MODULES": MODULE,
            LEDGER_SETTING: str(ledger_path),
            ORDERS_LEDGER_SETTING: str(orders_path),
            "ORDERS_MCP_DELAY_MS": str(config.agent_call_delay_ms),
            "PYTHONUNBUFFERED": "1",  # every log line reaches the file before a kill
            "APPROVAL_SIGNING_KEY": "crash-campaign-signing-key-not-a-secret",  # links outlive restarts
        }
        process = DevHostProcess(ROOT, state, settings=settings, log_path=host_log)
        entity_process = DevHostProcess(
            ENTITY_APP, entity_state, settings={"PYTHONUNBUFFERED": "1"}, log_path=entity_log
        )
        entity_driver = EntityDriver(entity_process, entity_runs)
        driver = Driver(process, runs, result, also=entity_driver.step)
        watcher = LogWatcher(host_log)
        entity_watcher = LogWatcher(entity_log)
        process.start(timeout=60)
        entity_process.start(timeout=60)
        modes: list[str] = []
        try:
            waves = [runs[i :: config.kills] for i in range(config.kills)]
            for cycle, wave in enumerate(waves):
                for run in wave:
                    run.due = True
                for entity_run in entity_runs[cycle :: config.kills]:
                    entity_run.due = True
                # Where to kill: at a random moment, or as soon as an activity / an episode is executing.
                if cycle % len(KILL_MODES) == 0:
                    modes = rng.sample(KILL_MODES, len(KILL_MODES))
                mode = modes[cycle % len(KILL_MODES)]
                uptime = rng.uniform(config.min_uptime, config.max_uptime)
                if mode == "random":
                    driver.drive_until(lambda: False, uptime)
                else:
                    busy = {
                        "mid-activity": watcher.activities_running,
                        "mid-episode": watcher.episodes_running,
                        "mid-agent-call": watcher.calls_running,
                    }[mode]
                    driver.drive_until(lambda: False, config.min_uptime)
                    driver.drive_until(busy, uptime)
                    time.sleep(rng.uniform(0, 0.02))
                in_flight = set(watcher.poll().values())
                process.kill9()
                kill_times.append(time.time())
                # The entity host dies at its own moment: as soon as an entity batch is executing.
                entity_busy = driver.drive_until(
                    lambda: ENTITY_FUNCTION in set(entity_watcher.poll().values()), config.entity_kill_wait
                )
                entity_process.kill9()
                result.kills += 1
                result.kills_mid_entity_batch += entity_busy
                mid_activity = ACTIVITY in in_flight
                mid_episode = bool(in_flight & WORKFLOWS.keys())
                result.kills_mid_agent_call += CALL_ACTIVITY in in_flight  # an agent's call, cut short
                cut_short = ledger.mark_interrupted()
                result.kills_mid_activity += mid_activity
                result.kills_mid_episode += mid_episode
                result.kills_mid_side_effect += cut_short > 0
                mid_call = CALL_ACTIVITY in in_flight
                busy = (("activities", mid_activity), ("an episode", mid_episode), ("agent calls", mid_call))
                busy_parts = [w for w, on in busy if on]
                say(
                    f"kill {cycle + 1}/{config.kills} ({mode}): {' and '.join(busy_parts) or 'nothing'} "
                    f"in flight, {cut_short} side-effecting steps cut short"
                )
                process.start(timeout=60)
                entity_process.start(timeout=60)
                watcher.restart()
                entity_watcher.restart()
            deadline = time.monotonic() + config.settle_timeout
            while driver.step() and time.monotonic() < deadline:
                time.sleep(0.1)
            audit(runs, process, ledger, result)
            audit_maps(runs, ledger, result)
            audit_agents(runs, orders, kill_times, result)
            entity_audit = entity_driver.audit()
        finally:
            process.stop()
            entity_process.stop()
        audit_store(runs, state, host_log, result)
        audit_entity_store(entity_runs, entity_state, entity_audit, check_history)
        result.entity_lost_runs = entity_audit.lost_runs
        result.entity_operations_expected = entity_audit.operations_expected
        result.entity_operations_applied = entity_audit.operations_applied
        result.entity_lost_operations = entity_audit.lost_operations
        result.entity_duplicate_operations = entity_audit.duplicate_operations
        result.entity_malformed_histories = entity_audit.malformed_histories
        result.problems += entity_audit.problems
    result.elapsed_seconds = time.monotonic() - began
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tests.reliability.campaign", description=__doc__.split("\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="the reduced CI form: a few kills, small sizes")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--kills", type=int, default=None)
    p.add_argument("--workdir", default=None, help="keep state, ledger and host log here")
    p.add_argument("--json", default=None, help="also write the result as JSON to this file")
    args = p.parse_args(argv)
    config = CampaignConfig.quick() if args.quick else CampaignConfig()
    overrides = {k: v for k, v in (("seed", args.seed), ("kills", args.kills)) if v is not None}
    config = CampaignConfig(**{**asdict(config), **overrides})
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="crash-campaign-"))
    print(f"crash campaign: {config}\n  workdir {workdir}", flush=True)
    result = run_campaign(config, workdir, log=sys.stdout)
    print(result.summary(), flush=True)
    if args.json:
        data = {**asdict(result), "malformed": sorted(result.malformed)}
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if result.ok and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
