"""Import function_app.py and index app.get_functions() the way the Python worker does."""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func

from devhost.config.errors import DevHostError
from devhost.functions.binding_support import RUN_TRIGGERS, Refused, refusing
from devhost.functions.binding_support import refused_bindings as bindings_refused
from devhost.functions.function_names import FunctionsByName
from devhost.functions.function_retry_policy import retry_policy
from devhost.functions.http_streams import check_stream_functions, takes_stream_request
from devhost.functions.listener_targets import ListenedFunction
from devhost.functions.mcp_tools import McpToolFunction, tool_function
from devhost.storage.storage_bindings import STORAGE_TRIGGERS, StorageSpec, storage_specs

_module_counter = itertools.count(1)


@dataclass
class HttpFunction:
    """An HTTP-triggered function: its route, methods and auth level, and how to call it."""

    name: str
    route: str
    methods: list[str]  # upper case; empty = every method
    auth_level: str  # anonymous | function | admin
    fn: Callable[..., Any]
    trigger_param: str
    client_params: list[str]
    wants_context: bool
    storage: list[StorageSpec] = field(default_factory=list)  # its blob / queue / table bindings
    # It takes the HTTP streams extension's Request (and the app uses HTTP streams: http_streams).
    takes_stream_request: bool = False


@dataclass
class TriggeredFunction:
    """An orchestrator, activity or entity function: one trigger parameter."""

    name: str
    fn: Callable[..., Any]
    trigger_param: str
    wants_context: bool
    client_params: list[str] = field(default_factory=list)
    storage: list[StorageSpec] = field(default_factory=list)


ByName = FunctionsByName[TriggeredFunction]


@dataclass
class FunctionIndex:
    """The app's functions by what devhost does with them, and the bindings it refuses."""

    http: list[HttpFunction] = field(default_factory=list)
    # Looked up without regard to case, as the host and the extension do (function_names).
    orchestrators: ByName = field(default_factory=lambda: ByName("orchestrator"))
    activities: ByName = field(default_factory=lambda: ByName("activity"))
    entities: ByName = field(default_factory=lambda: ByName("entity"))
    # Functions whose trigger devhost listens for: timers, queues, blobs.
    listened: list[ListenedFunction] = field(default_factory=list)
    # MCP tool trigger functions, served at /runtime/webhooks/mcp (the host's MCP extension).
    mcp_tools: list[McpToolFunction] = field(default_factory=list)
    # The app uses HTTP streams: every HTTP function is called with the extension's Request (http_streams).
    http_streams: bool = False
    other: list[str] = field(default_factory=list)  # functions with triggers devhost does not run
    # Function -> the bindings devhost does not run (a trigger it does not run, or bindings beside one it
    # runs); such a function is indexed with a stand-in that fails naming them (see binding_support).
    refused: dict[str, list[Refused]] = field(default_factory=dict)


# The Python worker imports the app's script by its file name: classes the app defines are then
# function_app.X, which is the name df_dumps writes into serialized custom objects.
WORKER_MODULE_NAME = "function_app"


def load_app_module(app_dir: Path, module_name: str | None = None) -> ModuleType:
    """Import <app_dir>/function_app.py as ``module_name``; None: under a unique name, so several apps
    can run in one process (the in-process test hosts) without replacing each other's module."""
    path = app_dir / "function_app.py"
    if not path.is_file():
        raise DevHostError(_no_script(app_dir))
    if str(app_dir) not in sys.path:
        # The worker runs with the app folder on sys.path so the app can import its own modules.
        sys.path.insert(0, str(app_dir))
    name = module_name or f"devhost_app_{next(_module_counter)}_function_app"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DevHostError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # the app's own failure: show its traceback, then one line
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise DevHostError(
            f"function_app.py failed to import: {type(exc).__name__}: {exc}",
            detail=_app_traceback(exc, app_dir),
        ) from None
    return module


def _no_script(app_dir: Path) -> str:
    """Why there is nothing to load: a v1 app (function.json per function), or no app at all."""
    v1 = sorted(p.parent.name for p in app_dir.glob("*/function.json"))
    if not v1:
        return f"no function_app.py in {app_dir} (run from the app folder or pass --app-dir)"
    shown = ", ".join(v1[:5]) + (", ..." if len(v1) > 5 else "")
    return (
        f"{app_dir} is a Python v1 programming model app (function.json in {shown}): devhost runs only "
        "the v2 model, a function_app.py whose functions are declared with decorators. Migrate the app "
        "(https://learn.microsoft.com/azure/azure-functions/functions-reference-python), or run it with "
        "Core Tools (func start)."
    )


def _app_traceback(exc: BaseException, app_dir: Path) -> str:
    """The traceback from the first frame inside the app folder (importlib frames are noise)."""
    tb = exc.__traceback__
    root = str(app_dir.resolve())
    while tb is not None and not str(Path(tb.tb_frame.f_code.co_filename).resolve()).startswith(root):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def find_app(module: ModuleType) -> func.FunctionRegister:
    """The app's ``FunctionApp`` (``app``, else the first the script defines)."""
    candidates = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    preferred = getattr(module, "app", None)
    if isinstance(preferred, func.FunctionRegister):
        return preferred
    if not candidates:
        raise DevHostError("function_app.py defines no FunctionApp/DFApp instance")
    return candidates[0]


def _param_names(fn: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _enum_text(value: Any) -> str:
    return str(getattr(value, "value", value))


def index_app(app: func.FunctionRegister) -> FunctionIndex:
    """The app's functions indexed by their trigger, as the worker indexes them; a function with
    bindings devhost does not run is indexed with a stand-in that fails naming them."""
    index = FunctionIndex()
    try:
        functions = app.get_functions()
    except Exception as exc:  # indexing errors are the app's (duplicate names, missing trigger, ...)
        raise DevHostError(f"function indexing failed: {exc}") from None
    http: list[_Declared] = []
    for function in functions:
        declared = _declared(function)
        if declared is not None:
            _add_to_index(index, function, declared)
            if declared.trigger.type == "httpTrigger":
                http.append(declared)
    index.http_streams = any(fn.takes_stream_request for fn in index.http)
    if index.http_streams:  # the whole app is, as the worker's: each HTTP function checked for it
        check_stream_functions([(d.name, d.user_fn, d.trigger.name) for d in http])
    return index


@dataclass(frozen=True)
class _Declared:
    """One function as its decorators declare it: what every kind of index entry is built from."""

    name: str
    trigger: Any
    fn: Callable[..., Any]  # what devhost calls: the user function, or the stand-in refusing its bindings
    user_fn: Callable[..., Any]
    clients: list[str]  # its durable client parameters
    wants_context: bool  # it takes the invocation context (a `context` parameter that is not the trigger)
    storage: list[StorageSpec]  # its blob / queue / table bindings; none when some binding is refused
    refused: list[Refused]


def _declared(function: Any) -> _Declared | None:
    """What indexing needs of one function; None for a function without a trigger (not indexed)."""
    name = function.get_function_name() or "unnamed"
    trigger = function.get_trigger()
    user_fn = function.get_user_function()
    params = _param_names(user_fn)
    bindings = function.get_bindings()
    clients = [b.name for b in bindings if b.type == "durableClient"]
    if trigger is None:
        return None
    refused = _refused(trigger, bindings)
    return _Declared(
        name=name,
        trigger=trigger,
        fn=refusing(name, refused) if refused else user_fn,
        user_fn=user_fn,
        clients=clients,
        wants_context="context" in params and trigger.name != "context",
        storage=[] if refused else storage_specs(bindings, trigger.name),
        refused=refused,
    )


def _refused(trigger: Any, bindings: list[Any]) -> list[Refused]:
    """The bindings devhost does not run on this function: its trigger first when devhost does not run
    that, then the bindings beside it that devhost does not run."""
    ttype = trigger.type
    refused = bindings_refused(bindings, trigger.name)
    if ttype not in RUN_TRIGGERS:
        refused = [Refused(ttype, trigger.name, "trigger"), *refused]
    if ttype in ("orchestrationTrigger", "entityTrigger"):
        # The Durable extension allows no other binding on orchestrators and entities.
        refused += [
            Refused(s.type, s.name, "output" if s.output else "input")
            for s in storage_specs(bindings, trigger.name)
        ]
    return refused


def _add_to_index(index: FunctionIndex, function: Any, f: _Declared) -> None:
    """The function indexed under its trigger's kind; a trigger devhost does not know is listed in
    ``other``."""
    if f.refused:
        index.refused[f.name] = f.refused
    ttype = f.trigger.type
    if ttype == "httpTrigger":
        index.http.append(_http_function(f))
    elif ttype in ("orchestrationTrigger", "activityTrigger", "entityTrigger"):
        _add_durable_function(index, f)
    elif ttype == "timerTrigger" or ttype in STORAGE_TRIGGERS:
        index.listened.append(_listened_function(function, f))
    elif ttype == "mcpToolTrigger":
        index.mcp_tools.append(tool_function(f.name, f.trigger, f.fn, f.wants_context, f.clients))
    else:
        index.other.append(f"{f.name} ({ttype})")


def _add_durable_function(index: FunctionIndex, f: _Declared) -> None:
    """An orchestrator, activity or entity, under the name its trigger gives it (else the function's)."""
    trigger = f.trigger
    if trigger.type == "orchestrationTrigger":
        oname = getattr(trigger, "orchestration", None) or f.name
        index.orchestrators[oname] = TriggeredFunction(oname, f.fn, trigger.name, False)
    elif trigger.type == "activityTrigger":
        aname = getattr(trigger, "activity", None) or f.name
        index.activities[aname] = TriggeredFunction(
            aname, f.fn, trigger.name, f.wants_context, f.clients, f.storage
        )
    else:
        ename = getattr(trigger, "entity_name", None) or f.name
        index.entities[ename] = TriggeredFunction(ename, f.fn, trigger.name, False)


def _http_function(f: _Declared) -> HttpFunction:
    """An HTTP function: its route (the function's name by default), methods and auth level."""
    trigger = f.trigger
    methods = [_enum_text(m).upper() for m in (getattr(trigger, "methods", None) or [])]
    return HttpFunction(
        name=f.name,
        route=str(getattr(trigger, "route", None) or f.name),
        methods=methods,
        auth_level=_enum_text(getattr(trigger, "auth_level", None) or "function").lower(),
        fn=f.fn,
        trigger_param=trigger.name,
        client_params=f.clients,
        wants_context=f.wants_context,
        storage=f.storage,
        takes_stream_request=takes_stream_request(f.user_fn, trigger.name),
    )


def _listened_function(function: Any, f: _Declared) -> ListenedFunction:
    """A function whose trigger devhost listens for itself; a timer's @app.retry policy with it."""
    ttype = f.trigger.type
    return ListenedFunction(
        f.name,
        f.fn,
        ttype,
        f.trigger.name,
        dict(f.trigger.get_dict_repr()),
        f.wants_context,
        f.clients,
        f.user_fn,
        f.storage,
        retry_policy(function) if ttype == "timerTrigger" else None,
    )


def load_and_index(app_dir: Path, module_name: str | None = None) -> FunctionIndex:
    """Import the app folder's function_app.py and index its functions."""
    return index_app(find_app(load_app_module(app_dir, module_name)))
