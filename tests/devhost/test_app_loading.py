"""How devhost loads an app as the Python worker does: the module name of function_app.py, and the
programming model it refuses (v1) with a message that says what to do."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from devhost.config.errors import DevHostError
from devhost.host import load_app
from devhost.testing import DevHostProcess, run_devhost
from tests.devhost.helpers import APPS, call, finished, start

REPO = Path(__file__).resolve().parents[2]


def test_own_process_imports_the_app_as_function_app(tmp_path):
    # The Python worker (azure-functions-python-worker, loader.index_function_app) imports the script by
    # its file name, so the app's classes are function_app.X, and df_dumps writes that module name into
    # serialized custom objects ({"__class__", "__module__", "__data__"}).
    proc = DevHostProcess(APPS / "contracts", tmp_path / "state.sqlite").start()
    try:
        api = f"{proc.base_url}/api"
        assert call("GET", f"{api}/module").json == {"module": "function_app", "class": "function_app"}
        iid = call("POST", f"{api}/start/points").json["id"]
        url = f"{proc.base_url}/runtime/webhooks/durabletask/instances/{iid}"
        for _ in range(400):
            reply = call("GET", f"{url}?showHistory=true&showHistoryOutput=true")
            if reply.status == 200:
                break
            time.sleep(0.05)
        assert reply.json["output"] == {"sum": 3, "module": "function_app"}
        result = next(e["Result"] for e in reply.json["historyEvents"] if e["EventType"] == "TaskCompleted")
        assert result["__module__"] == "function_app" and result["__class__"] == "Point"
    finally:
        proc.stop()


def test_in_process_hosts_keep_a_module_of_their_own():
    # Several in-process hosts (tests) share one interpreter: each app has its own module, and the
    # name function_app stays free for whatever the process imports under it.
    before = sys.modules.get("function_app")
    with run_devhost(APPS / "contracts") as host:
        name = call("GET", f"{host.api_url}/module").json["module"]
        assert name.startswith("devhost_app_") and name in sys.modules
        done = finished(host, start(host, "points"))
        assert done["output"] == {"sum": 3, "module": name}
    assert sys.modules.get("function_app") is before


def test_v1_app_is_refused_with_what_to_do():
    # The v1 model (function.json per function, script main()) is indexed by the host from the folders;
    # devhost indexes only the v2 model's function_app.py, so it says so instead of "no function_app.py".
    with pytest.raises(DevHostError) as err:
        load_app(APPS / "v1_app", None)
    message = err.value.message
    assert "v1 programming model" in message and "HttpExample" in message
    assert "function_app.py" in message and "func start" in message


def test_v1_app_from_the_command_line():
    # As above, from `python -m devhost`: exit code 2 and the one-line reason, no traceback.
    res = subprocess.run(
        [sys.executable, "-m", "devhost", "--app-dir", str(APPS / "v1_app"), "--in-memory"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "v1 programming model" in res.stderr and "Traceback" not in res.stderr
