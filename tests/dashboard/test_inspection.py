"""Inspecting runs in the dashboard, in headless Chromium against devhost with real runs: the step
inspector, the run's input, decided approvals, a timeline across continue-as-new, the runs list and the
graph layout."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevHostHandle
from engine.durable.checkpoint import DEFAULT_CONTINUE_EVERY
from tests.dashboard.conftest import ARTIFACTS
from tests.durable.http import finished, get, post, wait_for, waiting

WAIT_MS = 60_000
LAYOUT_CHECKS = (Path(__file__).parent / "layout_checks.js").read_text()
DOCUMENTS = [f"doc-{i:02d}" for i in range(1, 21)]


def start(host: DevHostHandle, workflow: str, body: dict[str, Any], instance: str) -> str:
    reply = post(f"{host.api_url}/workflows/{workflow}?instanceId={instance}", body)
    assert reply.status == 202, reply.body
    return reply.body["runUri"]


def open_run(page: Any, host: DevHostHandle, workflow: str, instance: str, query: str = "") -> None:
    page.goto(f"{host.api_url}/dashboard/#/run/{workflow}/{instance}{query}")
    page.locator(".run-status").wait_for()


@pytest.mark.signed_in("mia.manager")
def test_approve_then_inspect_steps_input_and_the_decision(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    run = start(host, "order_cancellation", {"order_id": "ORD-100900", "reason": "Wrong size"}, "inspect-1")
    wait_for(f"{run}?wait=30", waiting)
    open_run(page, host, "order_cancellation", "inspect-1")
    card = page.locator("article.approval")
    card.get_by_label("Comment").fill("Fine: a regular customer")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator(".run-status")).to_contain_text("Completed", timeout=WAIT_MS)

    # The run's input.
    page.locator(".run-input summary").click()
    expect(page.locator(".run-input pre")).to_contain_text('"order_id": "ORD-100900"')

    # The decision: who, how, when and the answer, in the approvals and in the timeline.
    decided = page.locator(".decided")
    expect(decided).to_contain_text("Decided (1)")
    expect(decided).to_contain_text("mia.manager")
    expect(decided).to_contain_text("endpoint")
    expect(decided).to_contain_text("approved — “Fine: a regular customer”")
    expect(decided.locator("time")).to_have_count(1)
    row = page.locator('.timeline-table tr[data-kind="approval"]')
    expect(row).to_have_count(1)
    expect(row).to_contain_text("approval manager_approval: decided by mia.manager via endpoint")
    expect(row).to_contain_text("approved — “Fine: a regular customer”")
    expect(page.locator(".timeline-table")).not_to_contain_text("$approval")

    # A step from the graph: its input, output and timings; the URL names it.
    page.locator('svg.graph [data-node="calculate_refund"]').click()
    inspector = page.locator("section.inspector")
    expect(inspector.get_by_role("heading", name=re.compile("calculate_refund"))).to_be_visible()
    expect(inspector).to_contain_text("step · done")
    expect(inspector.get_by_label("Input as JSON")).to_contain_text('"order_id": "ORD-100900"')
    expect(inspector.get_by_label("Output as JSON")).to_contain_text('"kind": "refund"')
    for fact in ("Superstep3", "Attempt1", "Scheduled", "Finished", "Ran", "Wall", "Idempotency key"):
        expect(inspector.locator(".inspect-facts")).to_contain_text(fact)
    expect(page).to_have_url(re.compile(r"\?step=calculate_refund$"))
    # The README's pictures (docs/img/) are these screenshots; the graph fits a taller window whole.
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 1100})
    page.screenshot(path=str(ARTIFACTS / "step-inspector.png"), full_page=True)

    # A row of the timeline opens that attempt; the approval node shows its decision.
    page.locator('.timeline-table tr[data-executor="notify_customer"]').click()
    expect(inspector.get_by_role("heading", name=re.compile("notify_customer"))).to_be_visible()
    expect(inspector.get_by_label("Output as JSON")).to_contain_text('"status": "cancelled"')
    expect(page.locator('.timeline-table tr[data-executor="notify_customer"]')).to_have_class(
        re.compile("row-selected")
    )
    page.locator('svg.graph [data-node="manager_approval"]').press("Enter")
    expect(inspector).to_contain_text("mia.manager")
    expect(inspector).to_contain_text("Answered — approved")
    inspector.get_by_role("button", name="Close the step inspector").click()
    expect(page.locator("section.inspector")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "run-view-decided.png"), full_page=True)

    # A link to an inspected step opens the run with the inspector open.
    open_run(page, host, "order_cancellation", "inspect-1", "?step=lookup_order")
    expect(page.locator("section.inspector")).to_contain_text('"reason": "Wrong size"')


def test_a_timeline_spans_continue_as_new_with_retries(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    batch = {"documents": DOCUMENTS, "flaky": "doc-07"}
    run = start(host, "document_batch", batch, "batch-20")
    view = wait_for(f"{run}?wait=30&timeline=true", waiting, timeout=120).body
    executions = 1 + len(DOCUMENTS) // DEFAULT_CONTINUE_EVERY
    assert view["timeline"]["executions"] == executions > 1
    open_run(page, host, "document_batch", "batch-20")
    table = page.locator(".timeline-table")
    steps = table.locator('tr[data-executor="process_document"]')
    expect(steps).to_have_count(21)  # 20 documents, one of them twice
    expect(table.locator("tr.row-earlier.row-step")).to_have_count(21)  # supersteps 1-20 ran before
    expect(table).to_contain_text("continued as new after superstep 20")
    expect(page.locator(".timeline .executions")).to_contain_text(f"{executions} executions")
    # The failed attempt was retried (the trail holds the next one): it does not read as the step's failure.
    expect(table.locator("tr.row-failed")).to_have_count(0)
    expect(table.locator("tr.row-retried")).to_have_count(1)
    expect(table.locator("tr.row-retried")).to_contain_text("↻ failed, will retry (attempt 1 of 2)")
    expect(page.locator(".timeline-summary")).to_contain_text("1 failed and retried · 0 failed")

    # The failed attempt, from an earlier execution: its error and timing, no payloads.
    table.locator("tr.row-retried").click()
    inspector = page.locator("section.inspector")
    expect(inspector.locator(".inspect-error")).to_contain_text("RuntimeError: doc-07: the scanner is busy")
    expect(inspector).to_contain_text("From an earlier execution of this run")
    expect(inspector.get_by_label("Input as JSON")).to_have_count(0)
    expect(inspector.locator("table.attempts tbody tr")).to_have_count(21)
    # The step of the current execution has its input and output.
    page.locator('svg.graph [data-node="close_batch"]').click()
    expect(inspector.get_by_label("Output as JSON")).to_contain_text('"DOC-20"')
    expect(inspector.get_by_label("Input as JSON")).to_contain_text('"doc-01"')
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "batch-timeline.png"), full_page=True)
    post(f"{run}/terminate")


def test_a_failed_step_shows_its_error_and_attempts(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    run = start(host, "document_batch", {"documents": ["a", "b"], "broken": "b"}, "batch-broken")
    wait_for(run, finished)
    open_run(page, host, "document_batch", "batch-broken", "?step=process_document")
    expect(page.locator(".run-status")).to_contain_text("Failed")
    expect(page.locator('svg.graph [data-node="process_document"]')).to_have_attribute("data-state", "failed")
    inspector = page.locator("section.inspector")
    expect(inspector.locator("table.attempts tbody tr")).to_have_count(3)  # a once, b twice
    expect(inspector.locator(".inspect-error")).to_contain_text("ValueError: cannot read b")
    expect(inspector).to_contain_text("Attempt2")
    expect(inspector.locator(".inspect-facts")).to_contain_text("✗ failed for good (attempt 2 of 2)")
    expect(page.locator(".timeline-summary")).to_contain_text("1 failed and retried · 1 failed")


def test_runs_list_has_duration_search_and_filters_in_the_url(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    for instance in ("findme-one", "findme-two", "other-three"):
        run = start(host, "order_cancellation", {"order_id": "ORD-100250", "reason": "Too late"}, instance)
        wait_for(run, finished)
    page.goto(f"{host.api_url}/dashboard/#/runs")
    page.get_by_label("Instance id").fill("FINDME")
    page.get_by_label("Instance id").press("Enter")
    expect(page).to_have_url(re.compile(r"#/runs\?search=FINDME$"))
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("findme-two")
    expect(rows.first.locator("td.duration")).to_have_text(re.compile(r"^\d+(\.\d+)? (ms|s)$"))
    page.get_by_label("Status").select_option("completed")
    expect(page).to_have_url(re.compile(r"search=FINDME"))
    expect(page).to_have_url(re.compile(r"status=completed"))
    page.reload()
    expect(page.get_by_label("Instance id")).to_have_value("FINDME")
    expect(page.get_by_label("Status")).to_have_value("completed")
    expect(rows).to_have_count(2)
    page.get_by_label("Instance id").fill("no-such-run")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_text(["No runs match."])
    listed = get(f"{host.api_url}/runs?search=findme&top=5").body
    assert [r["instanceId"] for r in listed["runs"]] == ["findme-two", "findme-one"]
    assert all(r["durationMs"] >= 0 for r in listed["runs"])


@pytest.mark.parametrize(
    "workflow",
    [
        "order_cancellation",
        "content_review",
        "expense_claim",
        "document_batch",
        "document_review",
        "map_gates",
    ],
)
def test_graphs_keep_edges_apart_and_labels_in_their_boxes(
    page: Any, host: DevHostHandle, workflow: str
) -> None:
    page.goto(f"{host.api_url}/dashboard/#/workflow/{workflow}")
    svg = page.locator(".graph-box svg.graph")
    svg.wait_for()
    assert svg.evaluate(LAYOUT_CHECKS) == []


def test_workflow_cards_open_a_full_size_graph_and_json_wraps(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    page.goto(f"{host.api_url}/dashboard/")
    card = page.locator("article.workflow-card").filter(has_text="order_cancellation")
    card.get_by_role("button", name="Full-size graph").click()
    dialog = page.get_by_role("dialog", name="Graph of order_cancellation")
    expect(dialog).to_be_visible()
    svg = dialog.locator("svg.graph")
    drawn = svg.bounding_box()
    assert drawn is not None and drawn["width"] == pytest.approx(float(svg.get_attribute("width")), abs=1)
    dialog.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    card.locator(".graph-thumb").click()
    expect(page.get_by_role("dialog", name="Graph of order_cancellation")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)

    # A long value in the outputs wraps inside its box instead of running past its right edge.
    long_reason = "x" * 400
    run = start(host, "order_cancellation", {"order_id": "ORD-100250", "reason": long_reason}, "wide-json")
    wait_for(run, finished)
    open_run(page, host, "order_cancellation", "wide-json")
    outputs = page.locator(".outputs pre")
    expect(outputs).to_contain_text(long_reason)
    assert outputs.evaluate("el => el.scrollWidth <= el.clientWidth")
    side = page.locator(".side").bounding_box()
    box = outputs.bounding_box()
    assert side is not None and box is not None and box["x"] + box["width"] <= side["x"] + side["width"] + 1


@pytest.mark.signed_in("manager")
def test_an_agent_steps_calls_and_the_approval_before_its_tool(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    run = start(host, "order_refund", {"order_id": "ORD-100080", "reason": "Arrived broken"}, "inspect-agent")
    pending = wait_for(f"{run}?wait=30", waiting).body["pendingApprovals"]
    assert pending[0]["approval_id"] == "refund_agent.refund"
    open_run(page, host, "order_refund", "inspect-agent")
    # The manager approves the refund call from the run page, where the tool and its arguments show.
    card = page.locator("article.approval")
    expect(card).to_contain_text('"tool": "refund"')
    expect(card).to_contain_text('"amount": 80')
    card.get_by_role("button", name="Approve").click()
    expect(page.locator(".run-status")).to_contain_text("Completed", timeout=WAIT_MS)

    # The timeline lists each call under the agent step; the inspector shows them with their arguments.
    calls = page.locator('.timeline-table tr[data-kind="call"]')
    expect(calls).to_have_count(6)  # the listing, 3 model calls, lookup and refund
    expect(page.locator('.timeline-table tr[data-call="t2.0"]')).to_contain_text("tool refund")
    page.locator('svg.graph [data-node="refund_agent"]').click()
    inspector = page.locator("section.inspector")
    expect(inspector).to_contain_text("agent · done")
    expect(inspector).to_contain_text("Calls (6)")
    refund = inspector.locator('li[data-call="t2.0"]')
    expect(refund).to_contain_text("tool refund")
    expect(refund.get_by_label("Arguments as JSON")).to_contain_text('"order_id": "ORD-100080"')
    refund.locator("summary").click()
    expect(refund).to_contain_text('"refunded": true')
