"""Speed-ups for the SDK code devhost runs in its own process, each with identical results.

The orchestrator SDK (azure-functions-durable) rebuilds every history event on every episode and
parses each event's ``Timestamp`` with ``dateutil.parser.parse``: about 0.1 ms an event, most of an
orchestrator's replay cost. A history is replayed again at every episode, so the same timestamp strings
come back again and again: devhost memoizes that parse, and reads its own fixed format
(``%Y-%m-%dT%H:%M:%S.%fZ``) with ``datetime.fromisoformat``, to the value dateutil returns.
``datetime`` values are immutable, so handing the same object to every replay is indistinguishable from
parsing the text again; any call that is not a plain string goes to dateutil as before.

The SDK's ``TaskOrchestrationExecutor`` also defines a ``namedtuple`` class (with ``eval``) every time an
orchestrator runs; devhost hands it the class made the first time for the same name and fields, which
behaves the same (the class is used only inside that executor).

Only devhost installs these (``TaskHub`` does, when it starts), so the SDK behaves exactly as shipped
anywhere else.
"""

from __future__ import annotations

import functools
import importlib
from datetime import datetime
from typing import Any

_CACHE_SIZE = 1 << 17


def install() -> None:
    """Install the speed-ups in the SDK (once per process; again is harmless)."""
    _memoize_timestamp_parse()
    _reuse_namedtuple_classes()


def _reuse_namedtuple_classes() -> None:
    module = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    original = module.namedtuple
    if getattr(original, "__devhost_memoized__", False):
        return
    made = functools.lru_cache(maxsize=64)(original)

    def namedtuple(typename: Any, field_names: Any, **kwargs: Any) -> Any:
        if kwargs or type(typename) is not str or type(field_names) is not tuple:
            return original(typename, field_names, **kwargs)
        return made(typename, field_names)

    namedtuple.__devhost_memoized__ = True  # type: ignore[attr-defined]
    namedtuple.__wrapped__ = original  # type: ignore[attr-defined]
    module.namedtuple = namedtuple


def _memoize_timestamp_parse() -> None:
    # The package re-exports the class under the module's name: fetch the module itself.
    module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    original = module.dt_parse
    if getattr(original, "__devhost_memoized__", False):
        return
    # The zone dateutil attaches to a trailing "Z" (tzutc(), or tzlocal() where the local zone is
    # called UTC): learnt from dateutil itself, so the fast path returns what it returns.
    zulu = original("2000-01-01T00:00:00.000000Z").tzinfo

    @functools.lru_cache(maxsize=_CACHE_SIZE)
    def parse_text(text: str) -> datetime:
        # devhost's own format (history.fmt_time) is read directly, to the value dateutil gives;
        # anything else goes to dateutil.
        if len(text) == 27 and text[-1] == "Z" and text[10] == "T" and text[19] == ".":
            try:
                return datetime.fromisoformat(text[:-1]).replace(tzinfo=zulu)
            except ValueError:
                pass
        return original(text)

    def dt_parse(timestr: Any, *args: Any, **kwargs: Any) -> datetime:
        if args or kwargs or type(timestr) is not str:
            return original(timestr, *args, **kwargs)
        return parse_text(timestr)

    dt_parse.__devhost_memoized__ = True  # type: ignore[attr-defined]
    dt_parse.__wrapped__ = original  # type: ignore[attr-defined]
    module.dt_parse = dt_parse
