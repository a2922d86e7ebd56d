"""The deploy campaign (see ``tests.durable.deploys``): dropped."""

from __future__ import annotations

from tests.durable.deploys import changed

ALL = changed()
