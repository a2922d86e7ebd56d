"""Maps in the dashboard, in headless Chromium against devhost with real runs: the map node's progress
badge part way through (items held by gate files), map and collect edges, "item i" in the timeline and
the step inspector, an approval per item, and the demo document review over 12 documents."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from devhost.testing import DevHostHandle
from tests.dashboard.conftest import ARTIFACTS
from tests.dashboard.test_map_progress import GATED, gated_jobs, open_gate, start
from tests.durable.http import finished, wait_for, waiting

WAIT_MS = 60_000
LAYOUT_CHECKS = (Path(__file__).parent / "layout_checks.js").read_text()


def open_run(page: Any, host: DevHostHandle, workflow: str, instance: str, query: str = "") -> None:
    page.goto(f"{host.api_url}/dashboard/#/run/{workflow}/{instance}{query}")
    page.locator(".run-status").wait_for()


def test_a_map_in_progress_shows_its_items(page: Any, host: DevHostHandle, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    start(host, "map_gates", gated_jobs(tmp_path), "gates-ui")
    try:
        open_run(page, host, "map_gates", "gates-ui")
        node = page.locator('svg.graph [data-node="run_job"]')
        badge = node.locator(".node-progress text")
        # Wave 1 done (j01 failed for good), j06 and j07 hold wave 2, four jobs wait for a slot.
        expect(badge).to_have_text("5/12 done · 2 running · 1 failed · 4 waiting", timeout=WAIT_MS)
        expect(node).to_have_attribute("data-state", "running")
        expect(node).to_have_attribute("aria-label", re.compile(r"items: 5/12 done · 2 running"))
        expect(node.locator(".node-sub")).to_have_text("step · each item")
        expect(page.locator('svg.graph path.edge-map[data-edge="queue_jobs>run_job"]')).to_have_count(1)
        expect(page.locator('svg.graph path.edge-collect[data-edge="run_job>tally_jobs"]')).to_have_count(1)
        expect(page.locator("svg.graph .edge-label-map")).to_have_text("each item (≤4 at once)")
        expect(page.locator("svg.graph .edge-label-collect")).to_have_text("collect")
        expect(page.locator(".legend")).to_contain_text("map: each item")
        assert page.locator("svg.graph").evaluate(LAYOUT_CHECKS) == []
        badge_box = node.locator(".node-progress rect").bounding_box()
        shape_box = node.locator(".shape").bounding_box()
        assert badge_box is not None and shape_box is not None
        assert (
            shape_box["x"] < badge_box["x"]
            and badge_box["x"] + badge_box["width"] < shape_box["x"] + shape_box["width"]
        )
        assert badge_box["y"] + badge_box["height"] < shape_box["y"] + shape_box["height"]

        # The timeline names each finished item; the inspector of the map node counts them.
        table = page.locator(".timeline-table")
        expect(table.locator('tr[data-executor="run_job"]')).to_have_count(6)
        expect(table.locator('tr[data-executor="run_job"] .tag-item')).to_have_count(6)
        expect(table.locator("tr.row-failed .tag-item")).to_have_text("item 1")
        node.click()
        inspector = page.locator("section.inspector")
        expect(inspector.locator(".map-progress")).to_have_text(
            "5/12 done · 2 running · 1 failed · 4 waiting"
        )
        expect(inspector).to_contain_text("at most 4 at once")
        ARTIFACTS.mkdir(exist_ok=True)
        page.set_viewport_size({"width": 1440, "height": 1000})
        page.screenshot(path=str(ARTIFACTS / "map-progress.png"))

        open_gate(tmp_path, "j06")
        expect(badge).to_have_text("6/12 done · 1 running · 1 failed · 4 waiting", timeout=WAIT_MS)
        expect(inspector.locator(".map-progress")).to_have_text(
            "6/12 done · 1 running · 1 failed · 4 waiting"
        )
        open_gate(tmp_path, "j07")
        expect(badge).to_have_text("10/12 done · 1 running · 1 failed", timeout=WAIT_MS)
    finally:
        for job in GATED:
            open_gate(tmp_path, job)
    expect(page.locator(".run-status")).to_contain_text("Completed", timeout=WAIT_MS)
    expect(badge).to_have_text("11/12 done · 1 failed")
    expect(node).to_have_attribute("data-state", "done")
    rows = page.locator('.timeline-table tr[data-executor="run_job"]')
    expect(rows).to_have_count(12)
    expect(rows.locator(".tag-item")).to_have_text([re.compile(r"^item \d+$")] * 12)
    page.locator('.timeline-table tr[data-executor="run_job"]').filter(has_text="item 6").click()
    inspector = page.locator("section.inspector")
    expect(inspector.locator(".inspect-facts")).to_contain_text("Map itemitem 6")
    expect(inspector.get_by_label("Input as JSON")).to_contain_text('"name": "j06"')
    expect(inspector.get_by_label("Output as JSON")).to_contain_text('"J06"')
    expect(inspector.locator("table.attempts tbody tr").filter(has_text="item 6")).to_have_count(1)
    page.locator('svg.graph [data-node="run_job"]').click()
    page.locator("details.state-details summary").click()
    expect(page.locator('.state-list [data-node="run_job"]')).to_contain_text(
        "(items: 11/12 done · 1 failed)"
    )


def test_an_approval_per_item_shows_who_is_still_asked(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    run = start(host, "map_signoff", {"pages": ["intro", "body", "end"]}, "signoff-ui")
    wait_for(f"{run}?wait=30", waiting)
    open_run(page, host, "map_signoff", "signoff-ui")
    node = page.locator('svg.graph [data-node="page_approval"]')
    badge = node.locator(".node-progress text")
    expect(badge).to_have_text("0/3 done · 3 awaiting approval", timeout=WAIT_MS)
    expect(node).to_have_attribute("data-state", "waiting")
    cards = page.locator("article.approval")
    expect(cards).to_have_count(3)
    expect(cards.locator(".tag-item")).to_have_text(["item 0", "item 1", "item 2"])
    assert page.locator("svg.graph").evaluate(LAYOUT_CHECKS) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-approvals.png"), full_page=True)

    card = cards.filter(has=page.locator(".tag-item", has_text="item 1"))
    expect(card.locator("pre.json")).to_contain_text('"body"')
    card.get_by_role("button", name="Approve").click()
    expect(badge).to_have_text("1/3 done · 2 awaiting approval", timeout=WAIT_MS)
    expect(cards).to_have_count(2)
    node.click()
    inspector = page.locator("section.inspector")
    expect(inspector.locator(".map-progress")).to_have_text("1/3 done · 2 awaiting approval")
    expect(inspector).to_contain_text("2 items wait for a person")
    for _ in range(2):
        cards.first.get_by_role("button", name="Reject").click()
        page.wait_for_timeout(300)
    expect(page.locator(".run-status")).to_contain_text("Completed", timeout=WAIT_MS)
    expect(page.locator(".outputs pre")).to_contain_text('"approved": 1')
    expect(badge).to_have_text("1 batch collected")


def test_document_review_of_12_documents(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    documents = [{"title": f"Doc {i}", "text": f"The text of document {i}."} for i in range(12)]
    run = start(host, "document_review", {"batch_id": "b12-ui", "documents": documents}, "review-12-ui")
    wait_for(f"{run}?wait=30", waiting)
    open_run(page, host, "document_review", "review-12-ui")
    node = page.locator('svg.graph [data-node="review_document"]')
    expect(node.locator(".node-progress text")).to_have_text("12/12 done", timeout=WAIT_MS)
    expect(node.locator(".node-sub")).to_have_text("agent · each item")
    expect(page.locator('svg.graph [data-node="gather_reviews"] .node-sub')).to_have_text("step · collects")
    expect(page.locator("svg.graph .edge-label-map")).to_have_text("each item (≤8 at once)")
    rows = page.locator('.timeline-table tr[data-executor="review_document"]')
    expect(rows).to_have_count(12)
    for index in range(12):
        expect(rows.locator(f'.tag-item[data-item="{index}"]')).to_have_text(f"item {index}")
    assert page.locator("svg.graph").evaluate(LAYOUT_CHECKS) == []
    page.screenshot(path=str(ARTIFACTS / "map-document-review.png"), full_page=True)
    page.locator("article.approval").get_by_role("button", name="Approve").click()
    expect(page.locator(".run-status")).to_contain_text("Completed", timeout=WAIT_MS)
    expect(page.locator(".outputs pre")).to_contain_text('"status": "published"')
    wait_for(run, finished)
