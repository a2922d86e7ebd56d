"""Fixtures of the reliability tests: agents answer with the offline model, whatever the shell says."""

from __future__ import annotations

import os

import pytest

_PROVIDER_PREFIXES = ("OPENAI_", "AZURE_OPENAI_")


@pytest.fixture(autouse=True)
def offline_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(_PROVIDER_PREFIXES):
            monkeypatch.delenv(name)
