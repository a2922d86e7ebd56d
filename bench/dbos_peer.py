"""DBOS as a benchmark peer: the fan-out both the throughput and the maps-at-scale suites time (N child
workflows of one step each), and DBOS launched on a fresh SQLite system database per repetition."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def fan_out_workflows() -> tuple[Any, Any]:
    """Registers the ``add_one`` step and the ``fan_out`` workflow (``count`` child workflows, each one
    ``add_one``, summed); returns them (the step, for other workflows to use)."""
    from dbos import DBOS

    logging.getLogger("dbos").setLevel(logging.WARNING)

    @DBOS.step()
    def add_one(value: int) -> int:
        return value + 1

    @DBOS.workflow()
    def branch(value: int) -> int:
        return add_one(value)

    @DBOS.workflow()
    def fan_out(count: int) -> int:
        handles = [DBOS.start_workflow(branch, i) for i in range(count)]
        return sum(h.get_result() for h in handles)

    return add_one, fan_out


@contextmanager
def launched() -> Iterator[None]:
    """DBOS launched on a SQLite file of its own, destroyed afterwards (its registry kept, so the same
    workflows run in the next repetition)."""
    from dbos import DBOS

    with tempfile.TemporaryDirectory() as folder:
        DBOS(
            config={
                "name": "bench",
                "system_database_url": f"sqlite:///{folder}/dbos.sqlite",
                "log_level": "WARNING",
                "run_admin_server": False,
            }
        )
        DBOS.launch()
        try:
            yield
        finally:
            DBOS.destroy(destroy_registry=False)
