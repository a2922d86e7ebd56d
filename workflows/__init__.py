"""The workflows this app serves. ``ALL`` is the registry the Functions app and the CLI read."""

from __future__ import annotations

from engine.graph import Workflow
from workflows.expense_claim import workflow as expense_claim

ALL: list[Workflow] = [expense_claim]
