"""``python -m engine``: list workflows, print their graphs, run one in memory from a terminal, and check
recorded runs against the code before deploying it (``replay-check``)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import traceback
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from pydantic import ValidationError

from engine.core.graph import Map, Workflow
from engine.core.run_state import PendingApproval
from engine.core.subworkflow import with_subworkflows
from engine.durable import history_sources
from engine.durable.replay_check import replay_check
from engine.durable_task.backends import BACKENDS_HELP
from engine.functions.watch import WatchError, watch
from engine.inmemory.runner import ApprovalResponseError, InMemoryRunner, RunResult
from engine.serve import commands as serve_commands
from engine.telemetry.setup import configure_from_environment

EXIT_USAGE = 2


class CliError(Exception):
    """A one-line error for the terminal; exit code 2."""


class Registry(NamedTuple):
    workflows: dict[str, Workflow]  # the newest version of each
    broken: dict[str, str]  # module -> one-line problem
    every: tuple[Workflow, ...] = ()  # every version of every workflow, as ALL lists them


def load_registry(module: str = "workflows") -> Registry:
    """The app's workflows (``ALL``) and the modules that failed to load (``BROKEN``), from the app folder."""
    sys.path.insert(0, os.getcwd())
    try:
        registry = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise CliError(f"cannot load {module!r}: {_one_line(exc)}") from exc
        raise CliError(
            f"cannot import {module!r} from {os.getcwd()}: run this in the app folder ({exc})"
        ) from exc
    except Exception as exc:  # a registry that imports its workflows directly fails as a whole
        raise CliError(f"cannot load {module!r}: {_one_line(exc)}") from exc
    served = getattr(registry, "served", None)  # ALL plus the WORKFLOW_MODULES setting, as the app
    if callable(served):
        listed, broken = served()
    else:
        listed, broken = getattr(registry, "ALL", []), getattr(registry, "BROKEN", {})
    every = tuple(with_subworkflows(listed))  # the sub-workflows too, as the app serves them
    return Registry({w.name: w for w in every}, dict(broken), every)


def _one_line(exc: BaseException) -> str:
    """The exception's type and message on one line, and where in the app folder it was raised."""
    app, engine_dir = Path.cwd().resolve(), Path(__file__).resolve().parent
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename).resolve()
        ours = path.is_relative_to(app) and not path.is_relative_to(engine_dir)
        if ours and "site-packages" not in path.parts:
            where = f" ({path.relative_to(app)}:{frame.lineno})"
            break
    text = " / ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text}{where}"


def report_broken(broken: dict[str, str], level: str) -> None:
    for module, problem in broken.items():
        print(f"{level}: workflow module {module} failed to load: {problem}", file=sys.stderr)


def first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "(input)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"field {where!r}: {err['msg']}{more}"


def read_json_argument(value: str, what: str) -> Any:
    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {what} file {path}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered workflows")
    graph = sub.add_parser("graph", help="print a workflow's graph as Mermaid")
    graph.add_argument("workflow")
    run = sub.add_parser("run", help="run a workflow in memory")
    run.add_argument("workflow")
    run.add_argument("--input", required=True, help="the start executor's input: JSON text or @file.json")
    answer = run.add_mutually_exclusive_group()
    answer.add_argument("--approve", action="store_true", help="approve every approval without asking")
    answer.add_argument("--reject", action="store_true", help="reject every approval without asking")
    answer.add_argument("--respond", metavar="JSON", help="answer every approval with this response")
    run.add_argument("--instance-id", default=None)
    run.add_argument("--quiet", action="store_true", help="print only the outputs")
    follow = sub.add_parser("watch", help="follow a durable run live: steps, map progress, approvals")
    follow.add_argument("run_url", help="the run's URL (runUri, as a start answers it)")
    follow.add_argument("--code", help="a function key, where the app requires one")
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
        "serve", help="the HTTP API and dashboard on a Durable Task backend (no Functions)"
    )
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    serve.add_argument("--backend", default="durabletask:memory", help=f"one of: {BACKENDS_HELP}")
    serve.add_argument("--no-worker", dest="worker", action="store_false", help="run no worker process")
    worker = sub.add_parser("worker", help="run the workflows on a Durable Task backend's worker")
    worker.add_argument("--backend", required=True, help=f"one of: {BACKENDS_HELP}")
    return parser


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("serve", "worker"):  # hostings: they load the app's workflows themselves
        return serve_commands.run(args.command, vars(args))
    if args.command == "watch":  # an HTTP client of a running app: no workflows to load
        try:
            return watch(args.run_url, code=args.code)
        except WatchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        registry, broken, every = load_registry()
        if args.command == "replay-check":
            report_broken(broken, "error")
            return replay_check_command(args, every) or (EXIT_USAGE if broken else 0)
        if args.command == "list":
            for wf in registry.values():
                print(f"{wf.name}\t{wf.version}\t{wf.fingerprint}\t{wf.description}")
            report_broken(broken, "error")
            return EXIT_USAGE if broken else 0
        report_broken(broken, "warning")
        workflow = registry.get(args.workflow)
        if workflow is None:
            known = ", ".join(sorted(registry)) or "none"
            hint = f"; broken modules: {', '.join(broken)}" if broken else ""
            raise CliError(f"unknown workflow {args.workflow!r} (known: {known}{hint})")
        if args.command == "graph":
            print(workflow.to_mermaid())
            return 0
        configure_from_environment()
        return asyncio.run(_run(workflow, args, stdin or sys.stdin))
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


async def _run(workflow: Workflow, args: argparse.Namespace, stdin: TextIO) -> int:
    raw = read_json_argument(args.input, "--input")
    try:
        message = workflow.validate_input(raw)
    except ValidationError as exc:
        raise CliError(f"invalid input for {workflow.name!r}: {first_error(exc)}") from exc
    runner = InMemoryRunner([workflow])
    stream = runner.stream(workflow, message, instance_id=args.instance_id)
    # A map's items are counted, as `engine watch` counts them: a line per ten (and the total), not four each.
    per_item = {g.target for g in workflow.groups if isinstance(g, Map)}
    items: Counter[str] = Counter()
    while True:
        try:
            async for event in stream:
                if args.quiet:
                    continue
                if event.executor_id in per_item and event.kind != "executor_failed":
                    if event.kind == "executor_completed":
                        items[event.executor_id] += 1
                        if items[event.executor_id] % 10 == 0:
                            print(
                                f"▦ {event.executor_id}: {items[event.executor_id]} items done",
                                file=sys.stderr,
                            )
                    continue
                if event.kind == "superstep_completed" and items:
                    for node, done in items.items():
                        if done % 10:
                            print(f"▦ {node}: {done} items done", file=sys.stderr)
                    items.clear()
                print(f"· {event.describe()}", file=sys.stderr, flush=True)
        except ApprovalResponseError as exc:
            raise CliError(_answer_problem(exc)) from exc
        result = stream.result
        assert result is not None
        if result.status != "waiting_for_approval":
            break
        responses = {p.request_id: _answer(p, args, stdin) for p in result.pending_approvals}
        stream = runner.stream_resume(result.state, responses, workflow=workflow, decided_by="cli")
    return _report(result)


def _answer_problem(exc: ApprovalResponseError) -> str:
    """One line for a refused answer: the request, the first wrong field, how many more."""
    if not exc.errors:
        return str(exc)
    first = exc.errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "(answer)"
    more = f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
    return f"invalid answer to approval request {exc.request_id!r}: field {where!r}: {first.get('msg')}{more}"


def _answer(pending: PendingApproval, args: argparse.Namespace, stdin: TextIO) -> Any:
    takes_decision = "approved" in pending.response_schema.get("properties", {})
    if args.respond:
        return read_json_argument(args.respond, "--respond")
    if args.approve or args.reject:
        if not takes_decision:
            expected = pending.response_schema.get("title", "a response")
            raise CliError(
                f"approval {pending.approval_id!r} expects {expected}, not approve/reject: use --respond JSON"
            )
        return {"approved": bool(args.approve)}
    print(f"\napproval {pending.approval_id} ({pending.request_id}) asks about:", file=sys.stderr)
    print(json.dumps(pending.request, indent=2), file=sys.stderr)
    while True:
        if takes_decision:
            print("approve? [y/n] ", end="", file=sys.stderr, flush=True)
            line = stdin.readline()
            if not line:
                raise CliError("no answer on stdin (end of input); use --approve or --reject in scripts")
            if line.strip().lower() in ("y", "yes", "n", "no"):
                return {"approved": line.strip().lower().startswith("y")}
            continue
        print("response JSON: ", end="", file=sys.stderr, flush=True)
        line = stdin.readline()
        if not line:
            raise CliError("no answer on stdin (end of input); use --respond in scripts")
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            print(f"not JSON: {exc.msg}", file=sys.stderr)


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
    live = [r for r in live if args.all or r.runtime_status not in ("Completed", "Terminated")]
    verdicts = replay_check(workflows, [*live, *exported])
    for verdict in verdicts:
        print(verdict.describe())
    breaking = sum(not v.ok for v in verdicts)
    print(f"{len(verdicts)} runs checked: {len(verdicts) - breaking} replay cleanly, {breaking} would break")
    return 1 if breaking else 0


def _report(result: RunResult) -> int:
    if result.status == "failed":
        print(f"error: run failed: {result.error}", file=sys.stderr)
        return 1
    print(json.dumps(result.outputs_json(), indent=2))
    return 0


__all__ = ["ApprovalResponseError", "main"]
