"""`python -m devhost.export`: the instances of a devhost state file, as the status API shows them.

Each instance is written as ``GET /runtime/webhooks/durabletask/instances/{id}?showHistory=true&
showHistoryOutput=true&showInput=true`` answers it, in ``{"runs": [...]}``: the form ``python -m engine
replay-check`` reads, without a running host and without knowing how devhost stores its state.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from devhost.config.errors import DevHostError
from devhost.durable.new_instances import TERMINAL
from devhost.durable.task_hub_store import SqliteStore
from devhost.management.management_api import status_json


def export_runs(state: Path, *, unfinished_only: bool = False) -> list[dict[str, Any]]:
    """Every instance of the state file (or only those not finished), with its history."""
    if not state.is_file():
        raise DevHostError(f"no devhost state file at {state}")
    store = SqliteStore(state)
    try:
        loaded = store.load()
        runs = []
        for rec in sorted(loaded.instances.values(), key=lambda r: (r.created, r.instance_id)):
            if unfinished_only and rec.status in TERMINAL:
                continue
            history = store.load_history(rec.instance_id)
            runs.append(status_json(rec, show_input=True, history=history, show_history_output=True))
        return runs
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    """Write the state file's instances to stdout as JSON; 2 when the file cannot be read."""
    p = argparse.ArgumentParser(prog="python -m devhost.export", description=__doc__.splitlines()[0])
    p.add_argument("--state", required=True, help="the SQLite state file (e.g. .devhost/state.sqlite)")
    p.add_argument("--unfinished", action="store_true", help="only instances that have not finished")
    args = p.parse_args(argv)
    try:
        runs = export_runs(Path(args.state), unfinished_only=args.unfinished)
    except DevHostError as exc:
        print(f"devhost: error: {exc.message}", file=sys.stderr)
        return 2
    json.dump({"runs": runs}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
