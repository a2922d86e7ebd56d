"""``python -m engine replay-check``: recorded runs replayed on the code of this folder, a verdict each."""

from __future__ import annotations

import argparse

from engine.cli.arguments import CliError, plural
from engine.core.graph import Workflow
from engine.durable import history_sources
from engine.durable.phase import FINISHED_FOR_GOOD
from engine.durable.replay_check import replay_check


def replay_check_command(args: argparse.Namespace, workflows: tuple[Workflow, ...]) -> int:
    """Print a verdict per run; 1 when any would break."""
    if not (args.files or args.url or args.state):
        raise CliError("replay-check needs recorded runs: --url, --state or JSON files")
    try:
        live = []
        if args.url:
            live += history_sources.from_management_api(args.url, args.code)
        if args.state:
            live += history_sources.from_devhost_state(args.state)
        exported = history_sources.from_files(list(args.files))
    except history_sources.SourceError as exc:
        raise CliError(str(exc)) from exc
    # Completed and terminated runs never replay again (a failed one may be rewound): skipped unless --all.
    live = [r for r in live if args.all or r.runtime_status not in FINISHED_FOR_GOOD]
    verdicts = replay_check(workflows, [*live, *exported])
    for verdict in verdicts:
        print(verdict.describe())
    breaking = sum(not v.ok for v in verdicts)
    clean = len(verdicts) - breaking
    print(
        f"{plural(len(verdicts), 'run')} checked: {clean} {'replays' if clean == 1 else 'replay'} cleanly, "
        f"{breaking} would break"
    )
    return 1 if breaking else 0


__all__ = ["replay_check_command"]
