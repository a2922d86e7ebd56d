"""HTTP streams (the ``azurefunctions-extensions-http-fastapi`` package): whether an app uses them, and the
load-time checks the Python worker makes of such an app.

On Azure the worker turns HTTP streams on for the whole app once the extension is imported (its web
classes register with ``azurefunctions.extensions.base``): it then starts an HTTP server of its own, the
host proxies every HTTP request of the app to it, and every HTTP function is called with the extension's
``Request`` (FastAPI's) and answers one of its response types (``StreamingResponse`` included), written to
the client as it is produced. The worker for Python 3.9-3.12 starts that server only when the app setting
``PYTHON_ENABLE_INIT_INDEXING`` is true (the extension's instructions ask for it); without it the worker
still calls its functions the streaming way, and their requests never complete, so devhost refuses such
an app at start, naming the setting. ``PYTHON_ENABLE_INIT_INDEXING=false`` turns streams off, and then a
function annotated with the extension's ``Request`` fails to load, as the worker's classic type check
fails it.

devhost runs several apps in one process (its tests), and the extension's registry is process-wide, so it
decides per app: an app uses HTTP streams when one of its HTTP functions takes the extension's ``Request``
(its annotation), as every documented sample does.
"""

from __future__ import annotations

import os
import sys
import typing
from collections.abc import Callable
from typing import Any

from devhost.config.errors import DevHostError

INIT_INDEXING_SETTING = "PYTHON_ENABLE_INIT_INDEXING"
_BASE_MODULE = "azurefunctions.extensions.base"
_TRUE = ("1", "true", "t", "yes", "y")  # the worker's is_envvar_true
_FALSE = ("0", "false", "f", "no", "n")  # and is_envvar_false


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The function's annotations resolved as the worker resolves them (``typing.get_type_hints``)."""
    try:
        return typing.get_type_hints(fn)
    except Exception:  # an annotation that does not resolve checks nothing, as an absent one
        return {}


def _trackers() -> tuple[Any, Any] | None:
    """The extension registry's request and response trackers, once an extension registered its types."""
    base = sys.modules.get(_BASE_MODULE)
    if base is None or base.RequestTrackerMeta.get_request_type() is None:
        return None
    return base.RequestTrackerMeta, base.ResponseTrackerMeta


def takes_stream_request(fn: Callable[..., Any], trigger_param: str) -> bool:
    """The function's trigger parameter is annotated with the extension's ``Request``."""
    trackers = _trackers()
    return trackers is not None and bool(trackers[0].check_type(_hints(fn).get(trigger_param)))


def check_stream_functions(functions: list[tuple[str, Callable[..., Any], str]]) -> None:
    """The worker's load-time checks of an app using HTTP streams, given each HTTP function's name, user
    function and trigger parameter: the setting that starts the worker's server, then each annotation (the
    request one of the extension's, the return one of its response types)."""
    setting = os.environ.get(INIT_INDEXING_SETTING, "").strip().lower()
    if setting not in _TRUE:
        turned = "turns them off" if setting in _FALSE else "is not set"
        raise DevHostError(
            "function_app.py uses HTTP streams (azurefunctions-extensions-http-fastapi), but the app "
            f"setting {INIT_INDEXING_SETTING} {turned}: set it to 1 in local.settings.json (Values) or the "
            "environment, as the extension asks; without it the Python worker starts no HTTP server for "
            "the streams, and the app's HTTP requests never complete"
        )
    trackers = _trackers()
    assert trackers is not None  # an app uses streams only once the extension registered its types
    requests, responses = trackers
    for name, fn, trigger_param in functions:
        hints = _hints(fn)
        request = hints.get(trigger_param)
        if request is not None and not requests.check_type(request):
            raise DevHostError(
                f"function '{name}': with HTTP streams every HTTP function takes the extension's Request "
                f"(azurefunctions.extensions.http.fastapi), not {_shown(request)} (the worker fails to "
                "load it)"
            )
        answer = hints.get("return")
        if answer is not None and not responses.check_type(answer):
            raise DevHostError(
                f"function '{name}': with HTTP streams an HTTP function answers one of the extension's "
                f"response types (Response, StreamingResponse, ...), not {_shown(answer)} (the worker "
                "fails to load it)"
            )


def _shown(annotation: Any) -> str:
    return getattr(annotation, "__qualname__", None) or repr(annotation)


__all__ = ["INIT_INDEXING_SETTING", "check_stream_functions", "takes_stream_request"]
