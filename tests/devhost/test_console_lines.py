"""devhost's own console lines (Executing / Executed, orchestration changes) and invocation ids: the
lines are written straight to the console when only it listens, and must read exactly as the ``logging``
path writes them; ids come from a generator seeded once and must still be unique version-4 UUIDs."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devhost.config.log_levels import LogLevels, parse_log_levels
from devhost.console import host_logs
from devhost.worker.invocation import Invoker, new_invocation_id

STAMP = r"\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\] "
ID = "5f0c2d6e-8a51-4c3b-9d2e-1f7a6b4c3d21"


def reference_stamp(created: float) -> str:
    """What every console line carried before: a datetime and strftime per line."""
    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture
def console(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The CLI's console (host_logs.configure_console) on a buffer; the logger as it was afterwards.

    Each test configures it in its own phase (``_configure``): pytest hands every non-propagating logger
    its capture handler, and sets sys.stdout, when a phase starts."""
    saved = (
        list(host_logs.logger.handlers),
        host_logs.logger.level,
        host_logs.logger.propagate,
        host_logs._console,
    )
    stream = io.StringIO()
    monkeypatch.setattr(host_logs, "levels", LogLevels())
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # put back after the test's _configure replaced it
    try:
        yield stream
    finally:
        handlers, level, host_logs.logger.propagate, host_logs._console = saved
        host_logs.logger.handlers[:] = handlers
        host_logs.logger.setLevel(level)  # setLevel, not .level: it clears the logger's cached verdicts


def _configure(stream: io.StringIO) -> None:
    """The CLI's console on ``stream``, which is sys.stdout too (until pytest's next phase)."""
    sys.stdout = stream
    host_logs.configure_console()


def _log_all() -> None:
    host_logs.executing("add_one", "(null)", ID)
    host_logs.executed("add_one", True, ID, 2.6)
    host_logs.executed("add_one", False, ID, 0.4)
    host_logs.orchestration("abc123", "fan_out", "started")


EXPECTED = [
    f"Executing 'Functions.add_one' (Reason='(null)', Id={ID})",
    f"Executed 'Functions.add_one' (Succeeded, Id={ID}, Duration=3ms)",
    f"Executed 'Functions.add_one' (Failed, Id={ID}, Duration=0ms)",
    "abc123: Orchestration 'fan_out' started.",
]


def _messages(text: str) -> list[str]:
    lines = text.splitlines()
    for line in lines:
        assert re.match(STAMP, line), line
    return [re.sub("^" + STAMP, "", line) for line in lines]


def test_console_lines_read_as_core_tools_prints_them(console: io.StringIO) -> None:
    _configure(console)
    _log_all()
    assert _messages(console.getvalue()) == EXPECTED


def test_direct_lines_match_the_logging_path(console: io.StringIO) -> None:
    # A second handler makes the lines go through logging (its records, the console's formatter): the
    # console must show the same text either way.
    _configure(console)
    assert host_logs.logger.handlers == [host_logs._console]  # the console alone: its own, direct lines
    _log_all()
    direct = console.getvalue()
    seen: list[logging.LogRecord] = []
    listener = logging.Handler()
    listener.emit = seen.append  # type: ignore[method-assign]
    host_logs.logger.addHandler(listener)
    try:
        _log_all()
    finally:
        host_logs.logger.removeHandler(listener)
    through_logging = console.getvalue()[len(direct) :]
    assert _messages(through_logging) == _messages(direct) == EXPECTED
    assert [r.getMessage() for r in seen] == EXPECTED  # the other handler got every record


def test_console_lines_follow_host_json_levels(console: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(console)
    rules = {"Function": "Warning", "Function.shown": "Information", "Host.Triggers.DurableTask": "None"}
    monkeypatch.setattr(host_logs, "levels", parse_log_levels({"logLevel": rules}, Path("host.json")))
    host_logs.executing("hidden", "(null)", ID)
    host_logs.executed("hidden", True, ID, 1)
    host_logs.executed("hidden", False, ID, 1)  # a failure is an Error: shown under Warning
    host_logs.executing("shown", "(null)", ID)
    host_logs.orchestration("abc123", "fan_out", "started")
    assert _messages(console.getvalue()) == [
        f"Executed 'Functions.hidden' (Failed, Id={ID}, Duration=1ms)",
        f"Executing 'Functions.shown' (Reason='(null)', Id={ID})",
    ]


def test_a_logger_above_information_hides_the_lines(console: io.StringIO) -> None:
    _configure(console)
    host_logs.logger.setLevel(logging.WARNING)
    _log_all()
    assert console.getvalue() == ""


def test_stamp_is_the_strftime_text() -> None:
    # Whole seconds are cached between calls; microseconds round half to even and carry into the
    # second as datetime.fromtimestamp does.
    base = 1_796_000_000.0
    cases = [base, base + 0.0005, base + 0.0009994, base + 0.9994999, base + 0.9999996, base + 59.9999999]
    cases += [base + n * 0.000137 for n in range(20_000)]
    cases += [0.0, 1.5, 951_782_400.25]
    for created in cases:
        assert host_logs.stamp(created) == reference_stamp(created), created


def test_invocation_ids_are_unique_version_4_uuids() -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def make() -> None:
        mine = [new_invocation_id() for _ in range(20_000)]
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == len(ids) == 80_000
    for text in ids[::97]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text  # lower-case hex, dashes where uuid4's text has them


def test_lines_of_a_loop_turn_are_written_in_order_before_anything_else(console: io.StringIO) -> None:
    # On the event loop the console gathers a turn's lines and writes them together; a record through
    # logging (a warning) and an explicit write_gathered both put them out first, in order.
    _configure(console)

    async def turn() -> tuple[str, str]:
        host_logs.executing("add_one", "(null)", ID)
        host_logs.executed("add_one", True, ID, 2.6)
        before_the_turn_ends = console.getvalue()
        host_logs.logger.warning("a warning after them")
        after_the_warning = console.getvalue()
        host_logs.orchestration("abc123", "fan_out", "started")
        await asyncio.sleep(0)  # the loop's next turn writes what was gathered
        return before_the_turn_ends, after_the_warning

    before, after = asyncio.run(turn())
    assert before == ""
    assert _messages(after) == [*EXPECTED[:2], "a warning after them"]
    assert _messages(console.getvalue())[-1] == EXPECTED[3]


def test_a_functions_own_output_follows_its_executing_line(console: io.StringIO) -> None:
    # The function's code runs after its Executing line is out (a sync one in its thread, an async one
    # on the loop), so what it prints comes after it, as on func start.
    _configure(console)
    invoker = Invoker(".", threads=2)

    def sync_fn() -> int:
        sys.stdout.write("printed by sync_fn\n")
        return 1

    async def async_fn() -> int:
        sys.stdout.write("printed by async_fn\n")
        return 2

    async def both() -> None:
        for name, fn in (("sync_fn", sync_fn), ("async_fn", async_fn)):
            await invoker.call(name, fn, {}, reason="(null)", wants_context=False)
        await asyncio.sleep(0)

    try:
        asyncio.run(both())
    finally:
        invoker.close()
    lines = [re.sub("^" + STAMP, "", line) for line in console.getvalue().splitlines()]
    assert [line.split(" (")[0] for line in lines] == [
        "Executing 'Functions.sync_fn'",
        "printed by sync_fn",
        "Executed 'Functions.sync_fn'",
        "Executing 'Functions.async_fn'",
        "printed by async_fn",
        "Executed 'Functions.async_fn'",
    ]


LATE_LOGGER = """
import logging
from devhost.console.app_logs import install
from devhost.config.log_levels import LogLevels
install(LogLevels())
class Late:
    def __del__(self):
        logging.getLogger("someone.else").error("said while the interpreter shuts down")
late = Late()
late.cycle = late  # freed by the final collection, once the import system is gone
print("ran")
"""


def test_a_record_logged_while_python_shuts_down_prints_no_traceback() -> None:
    # aiohttp's "Unclosed client session" warning comes from a __del__ that late: the console handler
    # could format nothing then, and printed a "Logging error" traceback at the end of every test run.
    import subprocess

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", LATE_LOGGER], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "ran"
    assert "Logging error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
