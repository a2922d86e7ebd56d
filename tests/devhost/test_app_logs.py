"""The app's own logs on devhost's console, as `func start` shows what the Python worker forwards:
level and function, Information and above unless host.json logging.logLevel says otherwise."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

from devhost.config.log_levels import LogLevels, parse_log_levels
from devhost.testing import DevHostProcess
from tests.devhost.helpers import APPS, call

WEBHOOK = "/runtime/webhooks/durabletask"


def _run_and_read(app: Path, tmp_path: Path, settings: dict[str, str] | None = None) -> list[str]:
    """Start the app in its own process, call the logging HTTP function and an orchestration whose
    activity logs, stop, and return the console lines."""
    proc = DevHostProcess(app, tmp_path / "state.sqlite", settings=settings).start()
    try:
        assert call("GET", f"{proc.base_url}/api/log").text == "logged"
        iid = call("POST", f"{proc.base_url}/api/start/logs_from_activity").json["id"]
        for _ in range(400):
            if call("GET", f"{proc.base_url}{WEBHOOK}/instances/{iid}").status == 200:
                break
            time.sleep(0.05)
    finally:
        proc.stop()
    return proc.log_path.read_text().splitlines()


def _with_host_json(tmp_path: Path, host: dict[str, object]) -> Path:
    app = tmp_path / "app"
    shutil.copytree(APPS / "contracts", app, ignore=shutil.ignore_patterns("__pycache__", ".devhost"))
    (app / "host.json").write_text(json.dumps(host))
    return app


def test_app_logs_show_level_and_function_from_information_up(tmp_path):
    # Core Tools prints what the worker forwards from the root logger during an invocation (category
    # Function.<name>.User), Information and above by default; warnings.warn is no raw stderr text.
    lines = _run_and_read(APPS / "contracts", tmp_path)
    text = "\n".join(lines)

    def shown(end: str) -> bool:
        return any(line.endswith(end) for line in lines)

    assert shown("[Information] Functions.log: info from the app"), text
    assert shown("[Warning] Functions.log: warning from the app"), text
    assert any("[Warning] Functions.log: " in ln and "a warnings.warn from the app" in ln for ln in lines)
    assert shown("[Information] Functions.log_activity: activity says hi"), text
    assert "debug from the app" not in text
    assert not any(line == "warning from the app" for line in lines)  # no raw, unattributed line
    assert any("Executing 'Functions.log'" in line for line in lines)


def test_host_json_log_levels_filter_app_and_execution_logs(tmp_path):
    # host.json logging.logLevel (Microsoft.Extensions.Logging filter rules: the longest matching
    # category prefix wins): Function -> Warning hides the Executing/Executed lines and Information logs.
    rules = {"default": "Information", "Function": "Warning"}
    app = _with_host_json(tmp_path, {"version": "2.0", "logging": {"logLevel": rules}})
    lines = _run_and_read(app, tmp_path)
    text = "\n".join(lines)
    assert "[Warning] Functions.log: warning from the app" in text
    assert "info from the app" not in text and "activity says hi" not in text
    assert "Executing 'Functions." not in text


def test_debug_logs_need_the_workers_switch_and_host_json(tmp_path):
    # The Python worker forwards DEBUG records only with PYTHON_ENABLE_DEBUG_LOGGING=1 (its app setting);
    # the host then filters them by logging.logLevel like any other record.
    app = _with_host_json(
        tmp_path, {"version": "2.0", "logging": {"logLevel": {"Function.log.User": "Debug"}}}
    )
    lines = _run_and_read(app, tmp_path, settings={"PYTHON_ENABLE_DEBUG_LOGGING": "1"})
    assert any(line.endswith("[Debug] Functions.log: debug from the app") for line in lines), lines


def test_log_level_rules():
    # Microsoft.Extensions.Logging's filter rules, as host.json logging.logLevel documents them
    # (learn.microsoft.com, "host.json reference for Azure Functions 2.x", logging): the longest category
    # prefix configured wins, "default" for the rest, Information when nothing is configured.
    rules = {"default": "Warning", "Function": "Error", "Function.a.User": "debug"}
    levels = parse_log_levels({"logLevel": rules}, Path("host.json"))
    assert levels.minimum("Function.a.User") == logging.DEBUG
    assert levels.minimum("Function.b.User") == logging.ERROR
    assert levels.minimum("Host.Results") == logging.WARNING
    assert LogLevels().minimum("Function.x") == logging.INFO
