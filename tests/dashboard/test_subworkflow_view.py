"""Sub-workflows in the dashboard (headless Chromium, devhost, real runs): the sub-workflow node's
inspector links to its child run, whose page shows the approval asked inside it; the page follows the
run's event feed, so answering it shows the parent completed without a reload."""

from __future__ import annotations

from typing import Any

from devhost.testing import DevHostHandle
from tests.durable.http import get, post

WAIT_MS = 60_000


def test_a_sub_workflow_node_links_to_its_child_run(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    api = f"{host.api_url}/workflows"
    run = post(f"{api}/t_sub_approval_inside?instanceId=sub-ui", "ship it?").body["runUri"]
    assert get(f"{run}?wait=30").body["pendingApprovals"]
    page.goto(f"{host.api_url}/dashboard/#/run/t_sub_approval_inside/sub-ui")
    node = page.locator('svg.graph [data-node="t_sub_asking_child"]')
    node.wait_for(timeout=WAIT_MS)
    node.click()
    inspector = page.locator(".inspector")
    expect(inspector).to_contain_text("sub-workflow", timeout=WAIT_MS)
    link = inspector.locator("ul.child-runs a")
    expect(link).to_have_text("sub-ui:t_sub_asking_child:2:0", timeout=WAIT_MS)
    # The parent page lists the child's approval; answering it there completes the parent, and the page,
    # following the event feed, shows it without a reload.
    view = get(run).body
    (pending,) = view["pendingApprovals"]
    link.click()
    page.wait_for_url("**/run/t_sub_asking_child/**", timeout=WAIT_MS)
    page.locator(".run-status").wait_for(timeout=WAIT_MS)
    expect(page.locator("body")).to_contain_text("child_ok", timeout=WAIT_MS)
    page.goto(f"{host.api_url}/dashboard/#/run/t_sub_approval_inside/sub-ui")
    page.locator(".run-status").wait_for(timeout=WAIT_MS)
    assert post(pending["respond_uri"], {"approved": True}).status == 202
    expect(page.locator(".run-status")).to_contain_text("Completed", timeout=WAIT_MS)
