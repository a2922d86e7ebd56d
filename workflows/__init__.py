"""The workflows this app serves. ``ALL`` is the registry the Functions app and the CLI read."""

from __future__ import annotations

from engine.core.graph import Workflow
from workflows.content_review import workflow as content_review
from workflows.expense_claim import workflow as expense_claim
from workflows.order_cancellation import workflow as order_cancellation

ALL: list[Workflow] = [expense_claim, order_cancellation, content_review]
