"""``python -m engine run``: one workflow run in memory from a terminal, its events on stderr, each approval
answered from the flags or a prompt, the outputs on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any, TextIO

from pydantic import ValidationError

from engine.cli.arguments import CliError, first_error, plural, read_json_argument
from engine.core.approval import Approval
from engine.core.events import RunEvent
from engine.core.graph import Map, Workflow
from engine.core.run_state import PendingApproval
from engine.core.subworkflow import with_subworkflows
from engine.inmemory.runner import ApprovalResponseError, InMemoryRunner, RunResult


async def run_in_memory(workflow: Workflow, args: argparse.Namespace, stdin: TextIO) -> int:
    """Run the workflow once in memory on ``--input``, answering its approvals from ``--respond`` or a
    prompt; the exit code."""
    raw = read_json_argument(args.input, "--input")
    try:
        message = workflow.validate_input(raw)
    except ValidationError as exc:
        raise CliError(f"invalid input for {workflow.name!r}: {first_error(exc)}") from exc
    # Checked before the run starts: a wrong answer must not cost a run that goes all the way to its approval.
    respond = checked_response(workflow, args.respond) if args.respond else None
    runner = InMemoryRunner([workflow])
    stream = runner.stream(workflow, message, instance_id=args.instance_id)
    printer = _EventPrinter(workflow, quiet=args.quiet)
    while True:
        try:
            async for event in stream:
                printer.show(event)
        except ApprovalResponseError as exc:
            raise CliError(_answer_problem(exc)) from exc
        result = stream.result
        assert result is not None
        if result.status != "waiting_for_approval":
            break
        responses = {p.request_id: _answer(p, args, respond, stdin) for p in result.pending_approvals}
        stream = runner.stream_resume(result.state, responses, workflow=workflow, decided_by="cli")
    return _report(result)


def approvals_of(workflow: Workflow) -> list[Approval[Any, Any]]:
    """Every approval the run may ask: the workflow's own and its sub-workflows'."""
    every = with_subworkflows([workflow])
    return [node for wf in every for node in wf.nodes.values() if isinstance(node, Approval)]


def checked_response(workflow: Workflow, text: str) -> Any:
    """``--respond``'s JSON, validated as each approval of the workflow will validate it (strictly)."""
    response = read_json_argument(text, "--respond")
    approvals = approvals_of(workflow)
    if not approvals:
        raise CliError(f"--respond: workflow {workflow.name!r} asks no approval")
    for approval in approvals:
        try:
            approval.parse_answer(response)
        except ValidationError as exc:
            expected = approval.response_schema().get("title", "its response")
            raise CliError(
                f"--respond does not fit approval {approval.id!r} (expects {expected}): {first_error(exc)}"
            ) from exc
    return response


class _EventPrinter:
    """The run's events on stderr, one line each; a map's items counted (a line per ten), not listed."""

    def __init__(self, workflow: Workflow, *, quiet: bool) -> None:
        self.quiet = quiet
        self.per_item = {g.target for g in workflow.groups if isinstance(g, Map)}
        self.items: Counter[str] = Counter()

    def show(self, event: RunEvent) -> None:
        if self.quiet:
            return
        node = event.executor_id
        if node in self.per_item and event.kind != "executor_failed":
            if event.kind == "executor_completed":
                self.items[node] += 1
                if self.items[node] % 10 == 0:
                    self._count(node)
            return
        if event.kind == "superstep_completed":
            for counted, done in self.items.items():
                if done % 10:
                    self._count(counted)
            self.items.clear()
        print(f"· {event.describe()}", file=sys.stderr, flush=True)

    def _count(self, node: str) -> None:
        print(f"▦ {node}: {plural(self.items[node], 'item')} done", file=sys.stderr)


def _answer_problem(exc: ApprovalResponseError) -> str:
    """One line for a refused answer: the request, the first wrong field, how many more."""
    if not exc.errors:
        return str(exc)
    first = exc.errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "(answer)"
    more = f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
    return f"invalid answer to approval request {exc.request_id!r}: field {where!r}: {first.get('msg')}{more}"


def _answer(pending: PendingApproval, args: argparse.Namespace, respond: Any, stdin: TextIO) -> Any:
    takes_decision = "approved" in pending.response_schema.get("properties", {})
    if args.respond:
        return respond
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


def _report(result: RunResult) -> int:
    if result.status == "failed":
        print(f"error: run failed: {result.error}", file=sys.stderr)
        return 1
    print(json.dumps(result.outputs_json(), indent=2))
    return 0


__all__ = ["approvals_of", "checked_response", "run_in_memory"]
