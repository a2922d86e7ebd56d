"""The CLI end to end, in a subprocess, from the app folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from workflows import ALL, BROKEN

ROOT = Path(__file__).resolve().parents[2]
CLAIM = {"employee": "ada", "title": "Travel", "amount": 1250}


def engine(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_list_names_every_workflow_under_a_header() -> None:
    done = engine("list")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["NAME", "VERSION", "FINGERPRINT", "DESCRIPTION"]
    # name, version label, structural fingerprint, description, in aligned columns
    assert [row.split()[:3] for row in rows] == [[w.name, w.version, w.fingerprint] for w in ALL]
    assert {row.index(row.split()[3]) for row in rows} == {header.index("DESCRIPTION")}
    assert {"expense_claim", "order_cancellation", "content_review"} <= {w.name for w in ALL}
    assert done.stderr == ""


def test_every_registered_workflow_module_loads() -> None:
    assert BROKEN == {}, "a module in workflows.MODULES failed to load (python -m engine list says why)"


def test_graph_prints_mermaid() -> None:
    done = engine("graph", "expense_claim")
    assert done.returncode == 0
    assert done.stdout.startswith("flowchart TD")
    assert "manager_approval{{" in done.stdout


def test_run_with_approve_prints_events_and_outputs() -> None:
    done = engine("run", "expense_claim", "--input", json.dumps(CLAIM), "--approve")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {"employee": "ada", "outcome": "paid", "amount": 1250.0, "instalments": 3, "reason": ""}
    ]
    assert "approval_requested" in done.stderr
    assert "run_completed" in done.stderr


def test_run_with_reject_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(CLAIM))
    done = engine("run", "expense_claim", "--input", f"@{path}", "--reject", "--quiet")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["outcome"] == "rejected"
    assert done.stderr == ""


def test_run_prompts_on_stdin_for_each_approval() -> None:
    done = engine("run", "expense_claim", "--input", json.dumps(CLAIM), "--quiet", stdin="maybe\nn\n")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("approve? [y/n]") == 2
    assert json.loads(done.stdout)[0]["outcome"] == "rejected"


def test_prompt_without_an_answer_is_a_clear_error() -> None:
    done = engine("run", "expense_claim", "--input", json.dumps(CLAIM), "--quiet", stdin="")
    assert done.returncode == 2
    assert "no answer on stdin" in done.stderr


def test_unknown_workflow_is_a_one_line_error() -> None:
    done = engine("run", "nope", "--input", "{}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unknown workflow 'nope' (known: ")
    assert "expense_claim" in lines[0]


def test_invalid_input_names_the_field() -> None:
    done = engine("run", "expense_claim", "--input", json.dumps({**CLAIM, "amount": -5}))
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "error: invalid input for 'expense_claim': field 'amount': Input should be greater than 0"
    )


def test_input_that_is_not_json() -> None:
    done = engine("run", "expense_claim", "--input", "{nope")
    assert done.returncode == 2
    assert "--input is not valid JSON" in done.stderr


def test_a_loose_answer_is_one_line_and_exit_2_not_a_traceback() -> None:
    done = engine(
        "run",
        "expense_claim",
        "--input",
        '{"employee": "ada", "title": "Travel", "amount": 1250}',
        "--respond",
        '{"approved": "yes", "extra": 1}',
        "--quiet",
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: --respond does not fit approval 'manager_approval' (expects ApprovalDecision): "
        "field 'approved': Input should be a valid boolean (and 1 more)"
    ], done.stderr
    assert "Traceback" not in done.stderr


def test_run_counts_a_map_s_items_instead_of_listing_each() -> None:
    documents = [{"title": f"D{i}", "text": f"Document {i}."} for i in range(23)]
    done = engine(
        "run",
        "document_review",
        "--input",
        json.dumps({"batch_id": "b", "documents": documents}),
        "--approve",
    )
    assert done.returncode == 0, done.stderr
    assert (
        "▦ review_document: 10 items done" in done.stderr
        and "▦ review_document: 23 items done" in done.stderr
    )
    assert "executor=review_document" not in done.stderr
    assert json.loads(done.stdout)[0]["documents"] == 23


def test_help_is_plain_text_and_every_argument_says_what_it_is() -> None:
    top = engine("--help")
    assert top.returncode == 0 and "``" not in top.stdout
    assert "examples:" in top.stdout and "python -m engine run expense_claim" in top.stdout
    for command in ("graph", "run"):
        done = engine(command, "--help")
        assert done.returncode == 0 and "``" not in done.stdout
        assert "a workflow's name, as `python -m engine list` prints it" in " ".join(done.stdout.split())
    assert "--quiet" in engine("run", "--help").stdout


def test_respond_is_checked_before_the_run_starts() -> None:
    done = engine("run", "expense_claim", "--input", json.dumps(CLAIM), "--respond", '{"approved": "yes"}')
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: --respond does not fit approval 'manager_approval' (expects ApprovalDecision): "
        "field 'approved': Input should be a valid boolean"
    ]
    # Nothing ran: not one event line before the error.
    assert "run_started" not in done.stderr and done.stdout == ""
    ok = engine(
        "run", "expense_claim", "--input", json.dumps(CLAIM), "--respond", '{"approved": true}', "--quiet"
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["outcome"] == "paid"


def test_a_retried_map_item_says_it_will_be_retried_and_names_its_item() -> None:
    order = {"order_id": "o-1", "lines": [{"sku": "A"}, {"sku": "FLAKY-1"}, {"sku": "BROKEN-2"}]}
    done = subprocess.run(
        [sys.executable, "-m", "engine", "run", "t_retry_lines", "--input", json.dumps(order)],
        cwd=ROOT,
        env={**os.environ, "WORKFLOW_MODULES": "tests.durable.retry_lines"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # Each attempt's run time varies; the items run side by side, so their lines may interleave.
    lines = [re.sub(r" [0-9.]+ms ", " ", line) for line in done.stderr.splitlines()]
    assert sorted(line for line in lines if "executor_failed" in line) == sorted(
        [
            "· executor_failed superstep=2 executor=check_line item=1 failed, will retry (attempt 1 of 3) "
            "error=TransientError: FLAKY-1: the stock service is busy",
            *[
                f"· executor_failed superstep=2 executor=check_line item=2 {what} "
                "error=TransientError: BROKEN-2: the stock service is busy"
                for what in (
                    "failed, will retry (attempt 1 of 3)",
                    "failed, will retry (attempt 2 of 3)",
                    "failed for good (attempt 3 of 3)",
                )
            ],
        ]
    )
    assert json.loads(done.stdout) == ["A x1, FLAKY-1 x1, line 2 failed"]
    assert "▦ check_line: 2 items done" in done.stderr
