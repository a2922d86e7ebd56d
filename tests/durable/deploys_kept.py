"""The deploy campaign (see ``tests.durable.deploys``): kept."""

from __future__ import annotations

from tests.durable.deploys import kept

ALL = kept()
