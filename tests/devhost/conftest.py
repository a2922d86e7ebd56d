from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS


@pytest.fixture(scope="module")
def basic() -> Iterator[DevHostHandle]:
    with run_devhost(APPS / "durable_basic") as host:
        yield host
