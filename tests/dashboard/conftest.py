from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevHostHandle, run_devhost

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# The app's own settings: more workflow modules (a long batch, tests/dashboard/batch_workflow.py; maps
# held part way, tests/dashboard/map_workflow.py), and a signing key, so answers through the endpoint are
# signed and name who decided.
SETTINGS = {
    "WORKFLOW_MODULES": "tests.dashboard.batch_workflow,tests.dashboard.map_workflow,tests.durable.subs,"
    "tests.dashboard.order_workflow",
    "APPROVAL_SIGNING_KEY": "dashboard-tests",
    "WORKFLOW_TRUST_EASY_AUTH": "true",
}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostHandle]:
    """devhost running the project's own function_app.py on SQLite, Easy Auth simulated (a request may
    name its caller in ``x-ms-client-principal``, as App Service authentication would)."""
    state = tmp_path_factory.mktemp("devhost") / "state.sqlite"
    with run_devhost(
        ROOT, state=state, in_memory=False, settings=SETTINGS, simulate_easy_auth=True
    ) as handle:
        yield handle


def principal(name: str) -> dict[str, str]:
    """The header App Service authentication sets for a signed-in user."""
    claims = [{"typ": "name", "val": name}]
    data = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims}
    return {"x-ms-client-principal": base64.b64encode(json.dumps(data).encode()).decode()}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (no downloaded browsers)."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page; a test marked ``@pytest.mark.signed_in("name")`` browses as that signed-in user."""
    marker = request.node.get_closest_marker("signed_in")
    context = browser.new_context(
        viewport={"width": 1440, "height": 900},
        locale="en-GB",
        timezone_id="UTC",
        extra_http_headers=principal(marker.args[0]) if marker else None,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "signed_in(name): browse as this user (simulated Easy Auth)")
