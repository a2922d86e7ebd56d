"""The README's quickstart in the dashboard: the run its curl starts waits for the manager on the Runs page,
opens with its approval form, and completes once approved there. Its screenshots are the README's
(docs/img/quickstart-workflows.png, quickstart-run.png: copied from test-artifacts/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from devhost.testing import DevHostHandle, run_devhost
from tests.dashboard.conftest import ARTIFACTS, ROOT
from tests.durable.http import post, wait_for, waiting

WAIT_MS = 60_000
CLAIM = {"employee": "ada", "title": "Travel", "amount": 1250}  # the quickstart's curl


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    """devhost as `make serve` runs it: the app's own workflows only, nothing added."""
    state = tmp_path_factory.mktemp("quickstart") / "state.sqlite"
    with run_devhost(ROOT, state=state, in_memory=False) as handle:
        yield handle


def test_the_quickstart_run_waits_on_the_runs_page_and_completes_when_approved(
    page: Any, host: DevHostHandle
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{host.api_url}/dashboard/")
    card = page.locator('article.workflow-card[data-workflow="expense_claim"]')
    expect(card.get_by_role("link", name="Start a run…")).to_be_visible()
    cards = page.locator("article.workflow-card")
    expect(cards).to_have_count(5)  # the demo workflows, as the README's reader sees them
    page.screenshot(path=str(ARTIFACTS / "quickstart-workflows.png"))

    started = post(f"{host.api_url}/workflows/expense_claim", CLAIM)
    assert started.status == 202, started.body
    run_id = started.body["id"]
    wait_for(f"{started.body['runUri']}?wait=30", waiting)  # the runs page lists what is, once loaded
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Runs").click()
    row = page.locator(f'table.runs tbody tr[data-instance="{run_id}"]')
    expect(row).to_contain_text("Waiting for approval", timeout=WAIT_MS)
    row.get_by_role("link", name=run_id).click()
    approval = page.locator("article.approval")
    heading = approval.get_by_role("heading", name=re.compile("manager_approval"))
    expect(heading).to_be_visible(timeout=WAIT_MS)
    expect(approval.locator("pre.json")).to_contain_text('"amount": 1250')
    page.screenshot(path=str(ARTIFACTS / "quickstart-run.png"))

    approval.get_by_role("button", name="Approve").click()
    expect(page.locator(".run-status")).to_contain_text("Completed", timeout=WAIT_MS)
    expect(page.locator(".outputs pre")).to_contain_text('"outcome": "paid"')
