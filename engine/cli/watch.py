"""``python -m engine watch <run URL>``: follow a run live in a terminal, through its event feed.

It long-polls ``<run>/events`` (so it sees every event once, in order, and nothing is missed between
polls), prints each step as it happens (an agent step's model and tool calls under it, with what they
were asked, what they answered, their duration and tokens), a progress line per map, and each approval
that opens with its respond link; at the end it prints the outputs or the error. Exit code: 0 completed,
1 failed or terminated, 2 when the run cannot be read. ``--tokens`` adds the text agent steps write, as they
write it (a step announced streaming is followed live; a step that ended before the feed showed it
streaming, once it ends).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections import Counter
from typing import Any, TextIO
from urllib.parse import urlencode, urlsplit, urlunsplit

from engine.cli.arguments import plural
from engine.cli.watch_tokens import TokenPrinter
from engine.core.events import failure_text
from engine.functions.feed import Feed, FeedEvent

POLL_SECONDS = 30


class WatchError(Exception):
    """The run cannot be read; the message says why."""


def _get(url: str, params: dict[str, str]) -> Any:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    target = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    try:
        with urllib.request.urlopen(target, timeout=POLL_SECONDS + 30) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        raise WatchError(f"{_shown(url)} answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise WatchError(f"cannot read {_shown(url)}: {_reason(exc)}{_hint(parts.hostname)}") from None
    except ValueError as exc:  # an answer that is not JSON: something else listens there
        raise WatchError(f"cannot read {_shown(url)}: the answer is not JSON ({exc})") from None


def _shown(url: str) -> str:
    """The URL tried, without its query (a function key must not land in a terminal's scrollback)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return getattr(reason, "strerror", None) or str(reason)


def _hint(host: str | None) -> str:
    """Where the host is this machine, the likely cause: devhost is not running."""
    if host in ("localhost", "127.0.0.1", "::1"):
        return " (is devhost running? start it with `make serve`)"
    return ""


def _line(event: FeedEvent) -> str | None:
    at = event.at.strftime("%H:%M:%S")
    step = f"{event.executor}" + (f"[{event.item}]" if event.item is not None else "")
    attempt = f" (attempt {event.attempt})" if event.attempt and event.attempt > 1 else ""
    match event.kind:
        case "step_started":
            return f"{at}  ▶ {step}{attempt}"
        case "step_completed" | "map_item_done":
            return f"{at}  ✓ {step}{attempt}"
        case "step_failed" if event.retrying is not None and event.attempt is not None:
            what = failure_text(will_retry=event.retrying, attempt=event.attempt, of=event.max_attempts)
            mark = "↻" if event.retrying else "✗"
            return f"{at}  {mark} {step} {what}: {event.detail or 'no reason given'}"
        case "step_failed":
            return f"{at}  ✗ {step}{attempt}: {event.detail or 'failed'}"
        case "model_call":
            return f"{at}    · {event.executor} model: {event.detail}"
        case "tool_call":
            return f"{at}    · {event.executor} tool {event.call}: {event.detail}"
        case "tools_listed":
            return f"{at}    · {event.executor} tools listed from {event.detail}"
        case "call_failed":
            return f"{at}    ✗ {event.executor} {event.call}{attempt}: {event.detail}"
        case "approval_requested":
            about = f": {event.detail}" if event.detail else ""
            return f"{at}  ✋ approval {event.executor} ({event.request_id}) waits for a person{about}"
        case "approval_answered":
            return f"{at}  ✋ approval {event.executor} ({event.request_id}) answered by {event.detail}"
        case "approval_timed_out":
            return f"{at}  ✋ approval {event.executor} ({event.request_id}) timed out"
        case "run_continued":
            return f"{at}  … continued as new after superstep {event.superstep}"
        case "steps_dropped":
            return f"{at}  … {event.detail} not kept"
        case _:
            return f"{at}  ● {event.kind.replace('_', ' ')}"


def watch(run_url: str, out: TextIO = sys.stdout, *, code: str | None = None, tokens: bool = False) -> int:
    """Follow the run at ``run_url`` (its view's URL) until it finishes; with ``tokens``, print what its
    agent steps write as they write it (``watch_tokens``)."""
    run_url = run_url.rstrip("/")
    if urlsplit(run_url).scheme not in ("http", "https"):
        raise WatchError(
            f"{run_url!r} is not a run's URL: give its runUri (http://.../api/workflows/<name>/runs/<id>)"
        )
    key = {"code": code} if code else {}
    cursor: str | None = None
    items: Counter[str] = Counter()
    shown: dict[str, int] = {}
    printer = TokenPrinter(run_url, _get, out, key) if tokens else None
    while True:
        params = {"wait": str(POLL_SECONDS), **key, **({"after": cursor} if cursor else {})}
        feed = Feed.model_validate(_get(f"{run_url}/events", params))
        for event in feed.events:
            if event.item is not None and event.kind == "step_started":
                continue  # a map's items are counted, not listed (a failed one is)
            if event.kind == "map_item_done" and event.executor:
                items[event.executor] += 1
                if items[event.executor] % 10 == 0:  # a progress line every ten items
                    shown[event.executor] = items[event.executor]
                    done = plural(items[event.executor], "item")
                    print(f"{event.at:%H:%M:%S}  ▦ {event.executor}: {done} done", file=out)
                continue
            line = _line(event)
            if line:
                print(line, file=out, flush=True)
            if event.kind == "approval_requested":
                _print_link(run_url, event.request_id, key, out)
            if printer is not None and event.executor and event.kind in ("step_streaming", "step_completed"):
                printer.follow(event.executor, live=event.kind == "step_streaming")
        cursor = feed.cursor
        for executor, done in items.items():  # the count reached since the last line, at each pause
            if shown.get(executor) != done:
                shown[executor] = done
                print(f"          ▦ {executor}: {plural(done, 'item')} done", file=out, flush=True)
        if feed.finished:
            break
    view = _get(run_url, key)
    if view.get("runtimeStatus") == "Completed":
        print(json.dumps(view.get("outputs"), indent=2), file=out)
        return 0
    error = view.get("error") or {}
    where = f"{error.get('executor_id')}: " if error.get("executor_id") else ""
    what = f"{where}{error.get('type', '?')}: {error.get('message', '')}"
    print(f"error: run {str(view.get('runtimeStatus', '?')).lower()}: {what}", file=out)
    return 1


def _print_link(run_url: str, request_id: str | None, key: dict[str, str], out: TextIO) -> None:
    view = _get(run_url, key)
    for pending in view.get("pendingApprovals", []):
        if pending.get("request_id") == request_id:
            print(f"          answer: POST {pending['respond_uri']}", file=out, flush=True)


__all__ = ["WatchError", "watch"]
