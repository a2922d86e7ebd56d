"""The step inspector shows what an agent step writes as it arrives (the offline model, slowed down so
the text comes word by word), in headless Chromium against devhost; the screenshot is
docs/img/stream.png."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devhost.testing import DevHostHandle
from tests.dashboard.conftest import ARTIFACTS
from tests.durable.http import finished, post, wait_for
from tests.streams.hosting import stream_host

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    state = tmp_path_factory.mktemp("stream-view") / "state.sqlite"
    with stream_host(state, 250) as handle:
        yield handle


def test_the_inspector_shows_the_text_as_it_arrives(page: Any, host: DevHostHandle) -> None:
    from playwright.sync_api import expect

    reply = post(
        f"{host.api_url}/workflows/s_stream?instanceId=stream-view-1", {"topic": "streams", "audience": "ops"}
    )
    assert reply.status == 202, reply.body
    page.goto(f"{host.api_url}/dashboard/#/run/s_stream/stream-view-1")
    page.locator(".run-status").wait_for()
    page.locator('svg.graph [data-node="s_writer"]').click()
    panel = page.locator('.inspector .agent-stream[data-step="s_writer"]')
    text = panel.locator(".stream-text")
    expect(text).to_contain_text('{"title": ', timeout=WAIT_MS)
    expect(panel).to_have_class("agent-stream streaming")  # still arriving: some of the text, not all
    partial = text.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "stream.png"), full_page=True)
    view = wait_for(f"{host.api_url}/workflows/s_stream/runs/stream-view-1", finished).body
    written = json.dumps(view["outputs"][0])
    assert written.startswith(partial) and len(partial) < len(written)
    expect(panel).to_have_attribute("data-done", "true", timeout=WAIT_MS)
    expect(text).to_have_text(written)
