"""CLI startup errors (subprocess), host.json / local.settings.json handling, the banner."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devhost.cli import COLLECTOR_THRESHOLDS
from devhost.config.errors import DevHostError
from devhost.config.host_settings import load_host_json, load_local_settings
from devhost.testing import DevHostProcess
from tests.devhost.helpers import APPS, call

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devhost", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def test_missing_function_app(tmp_path):
    res = run_cli("--app-dir", str(tmp_path), "--in-memory")
    assert res.returncode == 2
    assert "no function_app.py" in res.stderr
    assert "Traceback" not in res.stderr


def test_import_error_shows_the_apps_traceback(tmp_path):
    (tmp_path / "function_app.py").write_text(
        "import os\n\ndef broken():\n    raise KeyError('x')\n\nbroken()\n"
    )
    res = run_cli("--app-dir", str(tmp_path), "--in-memory")
    assert res.returncode == 2
    assert "Traceback" in res.stderr and "function_app.py" in res.stderr and "broken()" in res.stderr
    assert "importlib" not in res.stderr and "devhost/functions/indexing.py" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("devhost: error: function_app.py failed to import")


def test_invalid_host_json(tmp_path):
    (tmp_path / "function_app.py").write_text("")
    (tmp_path / "host.json").write_text("{ not json")
    res = run_cli("--app-dir", str(tmp_path), "--in-memory")
    assert res.returncode == 2
    assert "host.json is not valid JSON" in res.stderr and "Traceback" not in res.stderr


def test_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = run_cli("--app-dir", str(APPS / "http_routes"), "--in-memory", "--port", str(port))
    assert res.returncode == 2
    assert f"port {port} is already in use" in res.stderr and "Traceback" not in res.stderr


def test_banner_lists_http_functions_like_core_tools(tmp_path):
    proc = DevHostProcess(APPS / "durable_basic", tmp_path / "state.sqlite").start()
    try:
        assert call("GET", f"{proc.base_url}/api/client/list/x", None).status == 200
    finally:
        proc.stop()
    log = proc.log_path.read_text()
    assert "Functions:" in log
    assert f"\tstart: [POST] http://localhost:{proc.port}/api/start/{{name}}/{{instance_id?}}" in log
    assert "Executing 'Functions.client_op' (Reason=" in log
    assert "Executed 'Functions.client_op' (Succeeded, Id=" in log


def test_host_json_values_and_errors(tmp_path):
    assert load_host_json(tmp_path).route_prefix == "api"  # no file: defaults
    (tmp_path / "host.json").write_text(
        '{"extensions": {"http": {"routePrefix": ""}, "durableTask": '
        '{"hubName": "H", "maxConcurrentActivityFunctions": 3}}}'
    )
    s = load_host_json(tmp_path)
    assert (s.route_prefix, s.hub_name, s.max_concurrent_activities) == ("", "H", 3)
    (tmp_path / "host.json").write_text(
        '{"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 0}}}'
    )
    with pytest.raises(DevHostError, match="maxConcurrentActivityFunctions"):
        load_host_json(tmp_path)
    (tmp_path / "host.json").write_text("[]")
    with pytest.raises(DevHostError, match="JSON object"):
        load_host_json(tmp_path)


def test_local_settings_errors(tmp_path):
    assert load_local_settings(tmp_path) == {}
    (tmp_path / "local.settings.json").write_text('{"Values": {"A": 1, "B": null}}')
    assert load_local_settings(tmp_path) == {"A": "1", "B": ""}
    (tmp_path / "local.settings.json").write_text('{"Values": []}')
    with pytest.raises(DevHostError, match="Values"):
        load_local_settings(tmp_path)


def test_the_cli_host_collects_garbage_less_often(tmp_path):
    # python -m devhost keeps the task hub's state in the app's process (func start keeps it in the host):
    # once started it freezes what start-up made and raises the collector's thresholds (cli.calm_collector).
    app = tmp_path / "app"
    app.mkdir()
    (app / "function_app.py").write_text(
        "import gc, json\n"
        "import azure.functions as func\n\n"
        "app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)\n\n\n"
        "@app.route(route='gc')\n"
        "def collector(req: func.HttpRequest) -> func.HttpResponse:\n"
        "    body = {'thresholds': gc.get_threshold(), 'frozen': gc.get_freeze_count()}\n"
        "    return func.HttpResponse(json.dumps(body), mimetype='application/json')\n"
    )
    proc = DevHostProcess(app, tmp_path / "state.sqlite").start()
    try:
        answer = call("GET", f"{proc.base_url}/api/gc", None).json
    finally:
        proc.stop()
    assert tuple(answer["thresholds"]) == COLLECTOR_THRESHOLDS
    assert answer["frozen"] > 0
