"""``DevHostProcess.kill9`` is a crash of the whole machine: the host and every process under it die,
including children that started sessions of their own (as the mcp SDK starts stdio servers), so none of
them can act on a request after the host is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from devhost.testing import _frozen_tree

SLEEPER = "import time; time.sleep(60)"
# The child starts a grandchild in a session of its own, as mcp's stdio_client does.
CHILD = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]); time.sleep(60)"
ROOT = (
    "import subprocess, sys, time; "
    f"subprocess.Popen([sys.executable, '-c', {CHILD!r}], start_new_session=True); time.sleep(60)"
)


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_frozen_tree_holds_every_descendant_and_killing_it_leaves_none() -> None:
    root = subprocess.Popen([sys.executable, "-c", ROOT])
    try:
        deadline = time.monotonic() + 20
        tree = [root.pid]
        while time.monotonic() < deadline:
            tree = _frozen_tree(root.pid)
            if len(tree) == 3:
                break
            for pid in tree:  # not all started yet: let them go on and look again
                os.kill(pid, signal.SIGCONT)
            time.sleep(0.1)
        assert len(tree) == 3 and tree[0] == root.pid
        for pid in tree:
            os.kill(pid, signal.SIGKILL)
        root.wait(10)
        time.sleep(0.2)
        assert [pid for pid in tree[1:] if _alive(pid)] == []
    finally:
        if root.poll() is None:
            root.kill()
