"""The second deploy of ``t_deploy`` alone, the first one removed (see ``tests.durable.versioned``)."""

from __future__ import annotations

from tests.durable.versioned import deploy

ALL = [deploy("2")]
