"""The first deploy of ``t_deploy`` alone (see ``tests.durable.versioned``)."""

from __future__ import annotations

from tests.durable.versioned import deploy

ALL = [deploy("1")]
