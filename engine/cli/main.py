"""The ``python -m engine`` parser and the dispatch of its commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from engine.cli.arguments import EXIT_USAGE, CliError
from engine.cli.registry import Registry, load_registry, report_broken
from engine.cli.replay_command import replay_check_command
from engine.cli.run_command import run_in_memory
from engine.cli.watch import WatchError, watch
from engine.core.graph import Workflow
from engine.durable_task.backends import BACKENDS_HELP
from engine.serve import commands as serve_commands
from engine.telemetry.setup import configure_from_environment

# Plain text: argparse prints the description as it is (a docstring's ``markup`` would show literally).
DESCRIPTION = """\
Workflows from the command line, run in the app folder (where workflows/ is):
list them, print a graph, run one in memory, follow a durable run, check
recorded runs against this code before deploying it, or serve them on a
Durable Task backend (Durable Task Scheduler, Dapr) without Azure Functions."""
EXAMPLES = """\
examples:
  python -m engine list
  python -m engine graph expense_claim
  python -m engine run expense_claim --approve \\
      --input '{"employee": "ada", "title": "Travel", "amount": 1250}'
  python -m engine watch http://localhost:7071/api/workflows/expense_claim/runs/<id>
  python -m engine replay-check --url http://localhost:7071
  python -m engine serve --port 8080 --backend durabletask:memory"""
WORKFLOW_HELP = "a workflow's name, as `python -m engine list` prints it"


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m engine`` parser: every command, its arguments and its help."""
    parser = argparse.ArgumentParser(
        prog="python -m engine",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    sub.add_parser("list", help="list the registered workflows (name, version, fingerprint, description)")
    graph = sub.add_parser("graph", help="print a workflow's graph as Mermaid")
    graph.add_argument("workflow", help=WORKFLOW_HELP)
    run = sub.add_parser("run", help="run a workflow in memory (no services), answering its approvals here")
    run.add_argument("workflow", help=WORKFLOW_HELP)
    run.add_argument("--input", required=True, help="the start executor's input: JSON text or @file.json")
    answer = run.add_mutually_exclusive_group()
    answer.add_argument("--approve", action="store_true", help="approve every approval without asking")
    answer.add_argument("--reject", action="store_true", help="reject every approval without asking")
    answer.add_argument(
        "--respond",
        metavar="JSON",
        help="answer every approval with this response (JSON text or @file.json), checked before the run",
    )
    run.add_argument("--instance-id", default=None, help="the run's id (default: a new random one)")
    run.add_argument("--quiet", action="store_true", help="print only the outputs (no event lines on stderr)")
    follow = sub.add_parser("watch", help="follow a durable run live: steps, map progress, approvals")
    follow.add_argument("run_url", help="the run's URL (runUri, as a start answers it)")
    follow.add_argument("--code", help="a function key, where the app requires one")
    follow.add_argument(
        "--tokens", action="store_true", help="print what agent steps write, as they write it"
    )
    check = sub.add_parser(
        "replay-check",
        help="replay recorded runs on this code: does each replay cleanly, or where would it break?",
    )
    check.add_argument("files", nargs="*", type=Path, help="exported runs: JSON files or folders of them")
    check.add_argument("--url", help="a running app (devhost or Azure): its runs, from the management API")
    check.add_argument("--code", help="with --url on Azure: the durabletask extension's system key")
    check.add_argument("--state", type=Path, help="a devhost state file, such as .devhost/state.sqlite")
    check.add_argument(
        "--all", action="store_true", help="with --url/--state: also completed and terminated runs"
    )
    serve = sub.add_parser(
        "serve", help="the HTTP API and the dashboard on a Durable Task backend (without Azure Functions)"
    )
    serve.add_argument("--port", type=int, default=8080, help="the port to listen on (default 8080)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    serve.add_argument("--backend", default="durabletask:memory", help=f"one of: {BACKENDS_HELP}")
    serve.add_argument("--no-worker", dest="worker", action="store_false", help="run no worker process")
    worker = sub.add_parser("worker", help="run the workflows on a Durable Task backend's worker")
    worker.add_argument("--backend", required=True, help=f"one of: {BACKENDS_HELP}")
    return parser


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None) -> int:
    """Run one command; its exit code (usage errors print one line and return ``EXIT_USAGE``)."""
    args = build_parser().parse_args(argv)
    if args.command in ("serve", "worker"):  # hostings: they load the app's workflows themselves
        return serve_commands.run(args.command, vars(args))
    if args.command == "watch":  # an HTTP client of a running app: no workflows to load
        try:
            return watch(args.run_url, code=args.code, tokens=args.tokens)
        except WatchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        registry = load_registry()
        if args.command == "replay-check":
            report_broken(registry.broken, "error")
            return replay_check_command(args, registry.every) or (EXIT_USAGE if registry.broken else 0)
        if args.command == "list":
            print_list(registry)
            report_broken(registry.broken, "error")
            return EXIT_USAGE if registry.broken else 0
        report_broken(registry.broken, "warning")
        workflow = _workflow(registry, args.workflow)
        if args.command == "graph":
            print(workflow.to_mermaid())
            return 0
        configure_from_environment()
        return asyncio.run(run_in_memory(workflow, args, stdin or sys.stdin))
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def print_list(registry: Registry) -> None:
    """A header, then a row per workflow, in aligned columns; a workflow only run as another's
    sub-workflow says so."""
    rows = [("NAME", "VERSION", "FINGERPRINT", "DESCRIPTION")]
    for wf in registry.workflows.values():
        used_in = "" if wf.name in registry.listed else "(sub-workflow) "
        rows.append((wf.name, wf.version, wf.fingerprint, f"{used_in}{wf.description or ''}".rstrip()))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[3]]).rstrip())


def _workflow(registry: Registry, name: str) -> Workflow:
    workflow = registry.workflows.get(name)
    if workflow is None:
        known = ", ".join(sorted(registry.workflows)) or "none"
        hint = f"; broken modules: {', '.join(registry.broken)}" if registry.broken else ""
        raise CliError(f"unknown workflow {name!r} (known: {known}{hint})")
    return workflow


__all__ = ["build_parser", "main"]
