"""A large run in the dashboard (headless Chromium, devhost, a real run of tests/dashboard/order_workflow.py):
the whole graph in view, every timeline row on the page, a map item's details at once, the pending approval
in view while inspecting, retried attempts that do not read as failures, sub-workflows and their child runs
marked and linked, readable thumbnails, and a list field prefilled with an example."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from devhost.testing import DevHostHandle
from tests.dashboard.conftest import ARTIFACTS
from tests.durable.http import finished, get, post, wait_for, waiting

WAIT_MS = 60_000
RUN = "big-order"
FLAKY = (3, 11, 19)  # these lines fail their first attempt, then pass
LINES = [{"sku": f"FLAKY-{i:02d}" if i in FLAKY else f"SKU-{i:02d}", "qty": 1 + i % 3} for i in range(30)]
NO_INNER_SCROLL = "el => el.scrollHeight <= el.clientHeight + 1"
# Text set straight into a page's frame (a null the page meant to leave out shows as the word "null").
STRAY_TEXT = (
    "els => els.flatMap((el) => [...el.childNodes]).filter((n) => n.nodeType === 3).map((n) => n.data)"
)


@pytest.fixture(scope="module")
def order_run(host: DevHostHandle) -> Iterator[str]:
    """A run of order_fulfilment with 30 lines, waiting for the manager."""
    reply = post(
        f"{host.api_url}/workflows/order_fulfilment?instanceId={RUN}", {"customer": "ada", "lines": LINES}
    )
    assert reply.status == 202, reply.body
    run = reply.body["runUri"]
    wait_for(f"{run}?wait=30", waiting, timeout=120)
    yield run


def nodes_inside(page: Any, box_selector: str) -> list[str]:
    """The graph's nodes drawn outside its box (clipped or scrolled away), by id."""
    return page.locator(box_selector).evaluate(
        """box => {
          const frame = box.getBoundingClientRect();
          return [...box.querySelectorAll("g.node")].filter((g) => {
            const r = g.getBoundingClientRect();
            const out = (a, b) => a < b - 1;
            return out(r.top, frame.top) || out(frame.bottom, r.bottom) || out(r.left, frame.left)
              || out(frame.right, r.right);
          }).map((g) => g.dataset.node);
        }"""
    )


def test_the_whole_graph_is_in_its_box_on_the_workflow_and_the_run_page(
    page: Any, host: DevHostHandle, order_run: str
) -> None:
    page.goto(f"{host.api_url}/dashboard/#/workflow/order_fulfilment")
    box = page.locator(".graph-box")
    box.locator("svg.graph").wait_for()
    assert page.locator(".graph-box g.node").count() == 16
    assert box.evaluate(NO_INNER_SCROLL)
    assert nodes_inside(page, ".graph-box") == []
    # Its box holds the whole drawing (it used to be capped at 76 % of the window, the last steps cut off).
    assert box.bounding_box()["height"] >= box.locator("svg.graph").bounding_box()["height"]

    assert page.locator("main, .run-head").evaluate_all(STRAY_TEXT) == []

    page.goto(f"{host.api_url}/dashboard/#/run/order_fulfilment/{RUN}")
    page.locator(".run-status").wait_for()
    assert page.locator("main, .run-head").evaluate_all(STRAY_TEXT) == []
    box = page.locator(".progress .graph-box")
    assert box.evaluate(NO_INNER_SCROLL)
    assert nodes_inside(page, ".progress .graph-box") == []


def test_every_timeline_row_is_on_the_page_and_retries_do_not_read_as_failures(
    page: Any, host: DevHostHandle, order_run: str
) -> None:
    from playwright.sync_api import expect

    timeline = get(f"{order_run}?timeline=true").body["timeline"]
    page.goto(f"{host.api_url}/dashboard/#/run/order_fulfilment/{RUN}")
    page.locator(".run-status").wait_for()
    table = page.locator(".timeline-table")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(len(timeline["entries"]), timeout=WAIT_MS)
    assert len(timeline["entries"]) > 40
    assert page.locator(".timeline-rows").evaluate(NO_INNER_SCROLL)
    # The page's own scroll reaches the last row: nothing of the timeline is hidden in a box of its own.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(rows.last).to_be_in_viewport()
    expect(table.locator('tr[data-executor="add_tax"]')).to_be_in_viewport()

    retried = table.locator("tr.row-retried")
    expect(retried).to_have_count(3)
    expect(retried.first).to_contain_text("↻ failed, will retry (attempt 1 of 3)")
    expect(retried.first).to_contain_text("TransientError: FLAKY-03: the stock service is busy")
    expect(table.locator("tr.row-failed")).to_have_count(0)
    steps = timeline["totals"]["steps"]
    expect(page.locator(".timeline-summary")).to_contain_text(
        f"{steps} step attempts · 3 failed and retried · 0 failed"
    )


def test_a_map_item_s_details_show_at_once_with_the_approval_still_in_view(
    page: Any, host: DevHostHandle, order_run: str
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{host.api_url}/dashboard/#/run/order_fulfilment/{RUN}")
    page.locator(".run-status").wait_for()
    approve = page.locator("article.approval").get_by_role("button", name="Approve")
    expect(approve).to_be_in_viewport()

    # A map item from the timeline (far down the page): its input is in view at once, and so is the approval.
    row = page.locator('.timeline-table tr[data-executor="check_line"]').filter(
        has=page.locator('[data-item="17"]')
    )
    row.click()
    inspector = page.locator("section.inspector")
    details = inspector.locator(".attempt-details")
    expect(details.get_by_role("heading", level=3)).to_have_text("Attempt 1 · item 17")
    expect(details.get_by_label("Input as JSON")).to_contain_text('"sku": "SKU-17"')
    expect(details.get_by_label("Input as JSON")).to_be_in_viewport()
    expect(details.get_by_label("Output as JSON")).to_be_in_viewport()
    expect(inspector.locator("table.attempts tbody tr")).to_have_count(33)  # 30 items, 3 of them twice
    expect(approve).to_be_in_viewport()

    # Another attempt from the inspector's own table: a retried one says so, its details on top again.
    inspector.locator("table.attempts tbody tr").filter(has_text="item 3").filter(
        has_text="↻ retried"
    ).get_by_role("button").click()
    expect(details.get_by_role("heading", level=3)).to_have_text("Attempt 1 · item 3")
    expect(details).to_contain_text("↻ failed, will retry (attempt 1 of 3)")
    expect(details.locator(".inspect-error")).to_be_in_viewport()
    expect(approve).to_be_in_viewport()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "large-run-inspecting.png"))

    # Reading the timeline at the bottom of the page: the approval stays beside it, and answers.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(approve).to_be_in_viewport()
    approve.click()
    expect(page.locator(".run-status")).to_contain_text("Completed", timeout=WAIT_MS)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    final = page.locator('.timeline-table tr[data-executor="notify_customer"]')
    expect(final).to_be_in_viewport()
    expect(page.locator('.timeline-table tr[data-kind="approval"]')).to_be_in_viewport()


def test_sub_workflows_and_their_runs_are_marked_and_linked(
    page: Any, host: DevHostHandle, order_run: str
) -> None:
    from playwright.sync_api import expect

    view = get(f"{order_run}?timeline=true").body
    # The child ran in an earlier execution than the current one: the trail carries it on.
    assert view["timeline"]["executions"] > 1
    (child,) = view["children"]
    assert view["childrenTotal"] == 1
    assert child["workflow"] == "pack_order"
    child_view = get(child["runUri"]).body
    assert child_view["parent"] == {"instanceId": RUN, "node": "pack_order", "superstep": 5, "item": 0}
    assert view["parent"] is None

    # Workflows: pack_order is listed apart, as a sub-workflow of order_fulfilment, with no start button.
    page.goto(f"{host.api_url}/dashboard/")
    card = page.locator('article.workflow-card[data-workflow="pack_order"]')
    expect(card).to_have_class(re.compile("subworkflow-card"))
    expect(card).to_contain_text("Runs as a step of order_fulfilment")
    expect(card.get_by_role("link", name="Start a run…")).to_have_count(0)
    expect(
        page.locator('article.workflow-card[data-workflow="order_fulfilment"]').get_by_role(
            "link", name="Start a run…"
        )
    ).to_have_count(1)
    subs = page.locator("#subworkflows-heading + p + .cards")
    expect(subs.locator('[data-workflow="pack_order"]')).to_have_count(1)
    expect(subs.locator('[data-workflow="order_fulfilment"]')).to_have_count(0)

    # Runs: the child run right under its parent, marked, and linked back from its own page.
    page.goto(f"{host.api_url}/dashboard/#/runs?search={RUN}")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-instance", RUN)
    expect(rows.nth(1)).to_have_attribute("data-instance", child["instanceId"])
    expect(rows.nth(1)).to_have_class(re.compile("child-run"))
    expect(rows.nth(1)).to_contain_text("sub-workflow")
    # Alone on a page (its parent filtered out), a child run names its parent.
    page.goto(f"{host.api_url}/dashboard/#/runs?search=pack_order")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".parent-of")).to_contain_text(f"sub-workflow run of {RUN}")
    rows.first.get_by_role("link", name=child["instanceId"]).click()
    parent = page.locator(".parent-run")
    expect(parent).to_contain_text(f"A sub-workflow run, started by run {RUN} (its step pack_order)")
    parent.get_by_role("link", name=RUN).click()
    expect(page).to_have_url(re.compile(rf"#/run/order_fulfilment/{RUN}\?step=pack_order$"))
    expect(page.locator("section.inspector")).to_contain_text(child["instanceId"])


def test_thumbnails_are_readable_and_a_list_field_has_an_example(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    page.goto(f"{host.api_url}/dashboard/")
    thumbs = page.locator(".graph-thumb svg")
    expect(thumbs.first).to_be_visible()
    # Drawn at 90 % of the full size, whatever the graph: labels of 11-12 px, not scaled to the card.
    scales = thumbs.evaluate_all(
        "svgs => svgs.map((s) => s.getBoundingClientRect().width / s.viewBox.baseVal.width)"
    )
    assert scales and min(scales) == pytest.approx(0.9, abs=0.01), scales
    label = page.locator('article[data-workflow="order_fulfilment"] .graph-thumb text.node-id').first
    assert label.evaluate("t => t.getBoundingClientRect().height") >= 11
    expect(page.locator('article[data-workflow="order_fulfilment"] .graph-thumb')).to_have_class(
        re.compile("cropped")
    )
    expect(page.locator('article[data-workflow="order_fulfilment"]')).to_contain_text("16 nodes")

    # The start form: the list of lines as JSON, with an example built from its schema (it starts a run).
    page.goto(f"{host.api_url}/dashboard/#/workflow/order_fulfilment")
    lines = page.get_by_role("textbox", name="Lines")
    assert json.loads(lines.input_value()) == [{"sku": "sku", "qty": 1}]
    expect(page.locator('[data-field="lines"] .hint')).to_contain_text(
        "JSON: a list of objects: sku (text), qty (whole number)"
    )
    page.get_by_role("textbox", name="Customer").fill("bo")
    page.get_by_role("button", name="Start run").click()
    expect(page).to_have_url(re.compile(r"#/run/order_fulfilment/[0-9a-f]+$"), timeout=WAIT_MS)
    expect(page.locator(".run-status")).to_contain_text("Waiting for approval", timeout=WAIT_MS)
    instance = page.url.rsplit("/", 1)[1]
    view = get(f"{host.api_url}/workflows/order_fulfilment/runs/{instance}").body
    assert view["input"]["lines"] == [{"sku": "sku", "qty": 1}]
    post(f"{host.api_url}/workflows/order_fulfilment/runs/{instance}/terminate")
    wait_for(f"{host.api_url}/workflows/order_fulfilment/runs/{instance}", finished)
