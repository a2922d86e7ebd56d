"""Where ``replay-check`` reads recorded runs from: a running app's management API (devhost, or Azure with
its durabletask system key), devhost's state file, and exported JSON files."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from engine.durable.replay_check import RecordedRun, load_recorded_runs, recorded_runs

WEBHOOK = "/runtime/webhooks/durabletask"
CONTINUATION = "x-ms-continuation-token"
PAGE = 100
TIMEOUT_SECONDS = 60


class SourceError(Exception):
    """Recorded runs could not be read; the message says from where and why."""


def _management_base(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SourceError(f"--url must be the app's address, such as http://localhost:7071 (got {url!r})")
    path = parts.path.rstrip("/")
    if not path.endswith(WEBHOOK):
        path = path + WEBHOOK
    return f"{parts.scheme}://{parts.netloc}{path}"


def _get(url: str, headers: dict[str, str]) -> tuple[object, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as reply:
            return json.loads(reply.read() or b"null"), dict(reply.headers)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        hint = " (pass the durabletask system key with --code)" if exc.code in (401, 403) else ""
        raise SourceError(f"GET {url.split('?')[0]} answered {exc.code}{hint}: {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SourceError(f"cannot read {url.split('?')[0]}: {exc}") from None


def from_management_api(url: str, code: str | None = None) -> list[RecordedRun]:
    """Every instance the management API lists, each read with its history."""
    base = _management_base(url)
    key = {"code": code} if code else {}
    detail = urlencode({"showHistory": "true", "showHistoryOutput": "true", "showInput": "true", **key})
    runs: list[RecordedRun] = []
    token: str | None = None
    while True:
        listed, headers = _get(
            f"{base}/instances?{urlencode({'top': PAGE, 'showInput': 'false', **key})}",
            {CONTINUATION: token} if token else {},
        )
        for item in listed if isinstance(listed, list) else []:
            instance_id = item.get("instanceId") if isinstance(item, dict) else None
            if not isinstance(instance_id, str):
                continue
            status, _ = _get(f"{base}/instances/{quote(instance_id, safe='')}?{detail}", {})
            runs += recorded_runs(status)
        token = next((v for k, v in headers.items() if k.lower() == CONTINUATION), None)
        if not token or not isinstance(listed, list) or not listed:
            return runs


def from_devhost_state(state: Path) -> list[RecordedRun]:
    """The runs of a devhost state file, exported by devhost itself (the file's format is devhost's)."""
    done = subprocess.run(
        [sys.executable, "-m", "devhost.export", "--state", str(state)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SourceError(done.stderr.strip() or f"python -m devhost.export failed ({done.returncode})")
    return recorded_runs(json.loads(done.stdout))


def from_files(paths: list[Path]) -> list[RecordedRun]:
    """The recorded runs in exported JSON files; ``SourceError`` names a file that cannot be read."""
    runs: list[RecordedRun] = []
    for path in paths:
        try:
            runs += load_recorded_runs(path)
        except (OSError, ValueError) as exc:
            raise SourceError(f"cannot read recorded runs from {path}: {exc}") from None
    return runs


__all__ = ["SourceError", "from_devhost_state", "from_files", "from_management_api"]
