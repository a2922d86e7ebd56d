"""The dashboard in headless Chromium against devhost: start a run from the form, approve, see it finish."""

from __future__ import annotations

import re
from typing import Any

from devhost.testing import DevHostHandle
from tests.dashboard.conftest import ARTIFACTS

WAIT_MS = 60_000


def open_workflow(page: Any, host: DevHostHandle, name: str) -> None:
    page.goto(f"{host.api_url}/dashboard")
    heading = page.get_by_role("heading", name=name, exact=True)
    heading.get_by_role("link").click()
    page.get_by_role("heading", name="Start a run").wait_for()


def test_start_approve_and_watch_a_run_complete(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    open_workflow(page, host, "order_cancellation")
    # A placed order (status digit 1) of 900 EUR: the refund exceeds 500 EUR, so a manager must approve.
    page.get_by_label("Order Id").fill("ORD-100900")
    page.get_by_label("Reason").fill("Ordered the wrong size")
    page.get_by_role("button", name="Start run").click()

    expect(page).to_have_url(re.compile(r"#/run/order_cancellation/[0-9a-f]+$"), timeout=WAIT_MS)
    approval_node = page.locator('svg.graph [data-node="manager_approval"]')
    expect(approval_node).to_have_attribute("data-state", "waiting", timeout=WAIT_MS)
    expect(approval_node).to_have_attribute("aria-label", re.compile("waiting for approval"))
    expect(page.locator('[data-node="lookup_order"]').first).to_have_attribute("data-state", "done")
    card = page.locator("article.approval")
    expect(card.get_by_role("heading", name=re.compile("manager_approval"))).to_be_visible()
    expect(card.locator("pre.json")).to_contain_text('"refund": 900')
    expect(card.locator("[data-deadline]")).to_contain_text(re.compile(r"\d\d:\d\d:\d\d left"))
    expect(page.locator(".run-status")).to_contain_text("Waiting for approval")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "run-view-waiting.png"), full_page=True)

    card.get_by_label("Comment").fill("Fine: the customer is a regular")
    card.get_by_role("button", name="Approve").click()
    # The card says what was sent, and so does the one left in its place once the run has taken it in.
    sent = page.locator("article.approval, article.answered").get_by_role("status")
    expect(sent).to_contain_text("approved", timeout=WAIT_MS)

    expect(page.locator(".run-status")).to_contain_text("Completed", timeout=WAIT_MS)
    for node in ("approved_cancellation", "execute_cancellation", "notify_customer"):
        expect(page.locator(f'svg.graph [data-node="{node}"]')).to_have_attribute("data-state", "done")
    expect(page.locator('svg.graph [data-node="reject_cancellation"]')).to_have_attribute(
        "data-state", "pending"
    )
    outputs = page.locator(".outputs pre")
    expect(outputs).to_contain_text('"status": "cancelled"')
    expect(outputs).to_contain_text('"approval": "manager_approval"')
    timeline = page.locator(".timeline-table")
    expect(timeline).to_contain_text("draft_customer_message")
    expect(timeline).to_contain_text("approval manager_approval: decided via endpoint")
    expect(page.get_by_role("button", name="Terminate run")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "run-view.png"), full_page=True)

    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Runs").click()
    row = page.locator("table.runs tbody tr").first
    expect(row).to_contain_text("order_cancellation")
    expect(row).to_contain_text("Completed")


def test_invalid_start_form_shows_the_field_error(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    open_workflow(page, host, "order_cancellation")
    order_id = page.get_by_label("Order Id")
    order_id.fill("not-an-order")
    page.get_by_label("Reason").fill("x")
    page.get_by_role("button", name="Start run").click()

    field = page.locator('[data-field="order_id"]')
    expect(field.locator(".error")).to_contain_text("should match pattern", timeout=WAIT_MS)
    expect(order_id).to_have_attribute("aria-invalid", "true")
    expect(order_id).to_be_focused()
    expect(page.locator('[data-field="reason"] .error')).to_contain_text("at least 3 characters")
    expect(page.locator(".form-error")).to_have_text("invalid input for workflow 'order_cancellation'")
    expect(page).to_have_url(re.compile(r"#/workflow/order_cancellation$"))
    page.screenshot(path=str(ARTIFACTS / "start-form-errors.png"), full_page=True)
