"""local.settings.json and host.json: what `func start` reads before loading the app."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.config.errors import DevHostError
from devhost.config.log_levels import LogLevels, parse_log_levels
from devhost.config.queue_settings import QueueSettings, parse_queue_settings
from devhost.config.storage_provider import StorageProvider, parse_storage_provider

DEFAULT_HUB = "TestHubName"
# The Functions host's request body cap: the FUNCTIONS_REQUEST_BODY_SIZE_LIMIT app setting, 100 MB by default
# (as on Azure); `python -m devhost --max-body-bytes N` overrides it.
BODY_LIMIT_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"
DEFAULT_MAX_BODY_BYTES = 104_857_600


@dataclass(frozen=True)
class HostSettings:
    """What host.json says that devhost acts on, with the host's and the extensions' defaults."""

    route_prefix: str = "api"
    hub_name: str = DEFAULT_HUB
    max_concurrent_activities: int = 10
    max_concurrent_orchestrators: int = 10
    # Orchestration versioning (extensions.durableTask.defaultVersion, versionMatchStrategy,
    # versionFailureStrategy), with the extension's defaults: no version, CurrentOrOlder, Reject.
    default_version: str | None = None
    version_match_strategy: str = "CurrentOrOlder"
    version_failure_strategy: str = "Reject"
    # extensions.durableTask.tracing.traceInputsAndOutputs: the durable trace lines show inputs and errors
    # as they are; off (the extension's default), as "(Redacted N characters)".
    trace_inputs_and_outputs: bool = False
    storage_provider: StorageProvider = field(default_factory=StorageProvider)  # devhost's store stands in
    log_levels: LogLevels = field(default_factory=LogLevels)  # logging.logLevel
    queues: QueueSettings = field(default_factory=QueueSettings)  # extensions.queues


def _positive_int(value: Any, key: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DevHostError(f"{path}: extensions.durableTask.{key} must be a positive integer, got {value!r}")
    return value


MATCH_STRATEGIES = ("None", "Strict", "CurrentOrOlder")
FAILURE_STRATEGIES = ("Reject", "Fail")


def _enum_setting(value: Any, names: tuple[str, ...], key: str, default: str, path: Path) -> str:
    """An enum setting as the host's configuration binder reads it: a name in any case, or its number."""
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and int(text) < len(names):
            return names[int(text)]
        for name in names:
            if name.lower() == text.lower():
                return name
    raise DevHostError(
        f"{path}: extensions.durableTask.{key} must be one of {', '.join(names)}, got {value!r}"
    )


def _version_setting(value: Any, path: Path) -> str | None:
    """defaultVersion: a string (a JSON number is read as its text, as the host's configuration does);
    null or empty means no version."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DevHostError(f"{path}: extensions.durableTask.defaultVersion must be a string, got {value!r}")
    return str(value) or None


def _trace_inputs_and_outputs(tracing: Any, path: Path) -> bool:
    if tracing is None:
        return False
    if not isinstance(tracing, dict):
        raise DevHostError(f"{path}: extensions.durableTask.tracing must be an object")
    value = tracing.get("traceInputsAndOutputs", False)
    # The host's configuration binder reads a boolean from JSON true/false or their text, in any case.
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise DevHostError(
            f"{path}: extensions.durableTask.tracing.traceInputsAndOutputs must be true or false, "
            f"got {value!r}"
        )
    return value


def _read_json(path: Path) -> Any:
    """A settings file's JSON (a UTF-8 BOM allowed, as the host does); else one clear error line."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise DevHostError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise DevHostError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _hub_name(value: Any, path: Path, environ: Mapping[str, str]) -> str:
    """extensions.durableTask.hubName, a ``%setting%`` resolved from the app settings: the extension
    resolves a name that is one ``%...%`` as a whole (DurableTaskOptions.ResolveAppSettingOptions,
    INameResolver.TryResolveWholeString), as the Durable Task Scheduler template's ``%TASKHUB_NAME%``."""
    if not isinstance(value, str) or not value:
        raise DevHostError(f"{path}: extensions.durableTask.hubName must be a non-empty string")
    if not (len(value) > 2 and value[0] == value[-1] == "%" and "%" not in value[1:-1]):
        return value
    setting = value[1:-1]
    resolved = environ.get(setting, "").strip()
    if not resolved:
        # Unresolved, the extension keeps the text, which no storage provider takes as a task hub name.
        raise DevHostError(
            f"{path}: extensions.durableTask.hubName is '{value}', but the app setting {setting} is not set: "
            "add it to local.settings.json Values (or the environment)"
        )
    return resolved


def load_host_json(app_dir: Path, environ: Mapping[str, str] | None = None) -> HostSettings:
    """Read host.json; a missing file means defaults (as the host does), a broken one is an error.
    ``environ``: the app settings ``%setting%`` values resolve from (default: the environment)."""
    path = app_dir / "host.json"
    if not path.exists():
        return HostSettings()
    data = _read_json(path)
    if not isinstance(data, dict):
        raise DevHostError(f"{path} must contain a JSON object")
    extensions = data.get("extensions") or {}
    if not isinstance(extensions, dict):
        raise DevHostError(f"{path}: 'extensions' must be an object")
    http = extensions.get("http") or {}
    durable = extensions.get("durableTask") or {}
    if not isinstance(http, dict) or not isinstance(durable, dict):
        raise DevHostError(f"{path}: 'extensions.http' and 'extensions.durableTask' must be objects")
    prefix = http.get("routePrefix", "api")
    if not isinstance(prefix, str):
        raise DevHostError(f"{path}: extensions.http.routePrefix must be a string")
    hub = _hub_name(durable.get("hubName", DEFAULT_HUB), path, os.environ if environ is None else environ)
    defaults = HostSettings()
    return HostSettings(
        route_prefix=prefix.strip("/"),
        hub_name=hub,
        max_concurrent_activities=_positive_int(
            durable.get("maxConcurrentActivityFunctions", defaults.max_concurrent_activities),
            "maxConcurrentActivityFunctions",
            path,
        ),
        max_concurrent_orchestrators=_positive_int(
            durable.get("maxConcurrentOrchestratorFunctions", defaults.max_concurrent_orchestrators),
            "maxConcurrentOrchestratorFunctions",
            path,
        ),
        default_version=_version_setting(durable.get("defaultVersion"), path),
        version_match_strategy=_enum_setting(
            durable.get("versionMatchStrategy"),
            MATCH_STRATEGIES,
            "versionMatchStrategy",
            defaults.version_match_strategy,
            path,
        ),
        version_failure_strategy=_enum_setting(
            durable.get("versionFailureStrategy"),
            FAILURE_STRATEGIES,
            "versionFailureStrategy",
            defaults.version_failure_strategy,
            path,
        ),
        trace_inputs_and_outputs=_trace_inputs_and_outputs(durable.get("tracing"), path),
        storage_provider=parse_storage_provider(durable.get("storageProvider"), path),
        log_levels=parse_log_levels(data.get("logging"), path),
        queues=parse_queue_settings(extensions.get("queues"), path),
    )


def request_body_limit(override: int | None = None, environ: dict[str, str] | None = None) -> int:
    """The request body cap in bytes: ``override`` (the CLI flag), else the app setting, else 100 MB."""
    if override is not None:
        if override < 1:
            raise DevHostError(f"--max-body-bytes must be a positive number of bytes, got {override}")
        return override
    raw = (os.environ if environ is None else environ).get(BODY_LIMIT_SETTING, "").strip()
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise DevHostError(
            f"app setting {BODY_LIMIT_SETTING} must be a number of bytes, got {raw!r}"
        ) from None
    if value < 1:
        raise DevHostError(f"app setting {BODY_LIMIT_SETTING} must be positive, got {value}")
    return value


def load_local_settings(app_dir: Path) -> dict[str, str]:
    """Values of local.settings.json (missing file: nothing)."""
    path = app_dir / "local.settings.json"
    if not path.exists():
        return {}
    data = _read_json(path)
    values = data.get("Values", {}) if isinstance(data, dict) else None
    if not isinstance(values, dict):
        raise DevHostError(f"{path}: 'Values' must be an object")
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def apply_environment(values: dict[str, str]) -> dict[str, str | None]:
    """Export values like `func start`: variables already set in the environment win.

    Returns the previous values of the keys it set, so a test can restore them.
    """
    previous: dict[str, str | None] = {}
    for key, value in values.items():
        if key in os.environ:
            continue
        previous[key] = None
        os.environ[key] = value
    return previous


def restore_environment(previous: dict[str, str | None]) -> None:
    """Put back the environment variables a host set (unset again those that were unset)."""
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
