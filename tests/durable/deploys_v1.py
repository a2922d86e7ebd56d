"""The deploy campaign (see ``tests.durable.deploys``): v1."""

from __future__ import annotations

from tests.durable.deploys import v1

ALL = v1()
