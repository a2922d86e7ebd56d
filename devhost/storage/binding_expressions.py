"""Binding expressions in binding paths, queue names and keys, as the WebJobs SDK resolves them:
``%setting%`` from the app settings, ``{name}`` from the trigger's binding data (case-insensitive),
``{rand-guid}`` and ``{DateTime}``; and blob path patterns (``container/{name}.txt``) matched against a
blob's path, which is where a blob trigger's ``{name}`` comes from."""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from devhost.config.errors import DevHostError

_SETTING = re.compile(r"%([^%]+)%")
_PARAMETER = re.compile(r"\{([^{}]+)\}")


class BindingExpressionError(DevHostError):
    """A ``{name}`` the trigger gives no value for: the host fails such an invocation."""


def resolve_settings(template: str) -> str:
    """``%name%`` -> the app setting, as the host resolves it when indexing."""

    def setting(match: re.Match[str]) -> str:
        value = os.environ.get(match.group(1))
        if value is None:
            raise DevHostError(f"'{template}' names the app setting %{match.group(1)}%, which is not set")
        return value

    return _SETTING.sub(setting, template)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value)


def resolve(template: str, data: dict[str, Any]) -> str:
    """Fill a binding's template from the binding data (keys compared without case, as the host does)."""
    lowered = {k.lower(): v for k, v in data.items()}
    text = resolve_settings(template)

    def parameter(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        key = name.lower()
        if key == "rand-guid":
            return str(uuid.uuid4())
        if key == "datetime":
            return datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
        value = _lookup(lowered, key)
        if value is None:
            raise BindingExpressionError(
                f"No value for named parameter '{name}' in '{template}': the trigger's data has "
                f"{', '.join(sorted(data)) or 'no named values'}"
            )
        return _text(value)

    return _PARAMETER.sub(parameter, text)


def _lookup(data: dict[str, Any], key: str) -> Any:
    """``{a}`` or a dotted ``{a.b}`` into a JSON payload's properties."""
    head, _, rest = key.partition(".")
    value = data.get(head)
    for part in rest.split(".") if rest else []:
        if not isinstance(value, dict):
            return None
        value = {k.lower(): v for k, v in value.items()}.get(part)
    return value


def json_properties(text: str | bytes) -> dict[str, Any]:
    """A JSON object payload's top-level properties (binding data for ``{prop}``); else nothing."""
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def blob_pattern(path: str) -> re.Pattern[str]:
    """A blob trigger's path ``container/{name}.txt`` as a pattern over ``container/blob``: each
    ``{name}`` matches any text (the last one may span folders), the rest literally."""
    parts = _PARAMETER.split(path)
    regex = ""
    for i, part in enumerate(parts):
        if i % 2 == 0:
            regex += re.escape(part)
        else:
            regex += f"(?P<{re.sub(r'[^0-9A-Za-z_]', '_', part)}>.+?)"
    # \Z, not $: $ also matches before a trailing newline, so "in/a.txt\n" would fire "in/{name}.txt".
    return re.compile(f"^{regex}\\Z", re.DOTALL)


def split_blob_path(path: str) -> tuple[str, str]:
    """``container/dir/name`` -> (container, blob name)."""
    container, _, blob = path.strip("/").partition("/")
    if not container:
        raise DevHostError(f"blob path '{path}' names no container")
    return container, blob
