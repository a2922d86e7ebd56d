"""Orchestration versioning as the Durable extension does it (DurableTask.Core's VersioningSettings).

Every new orchestration, sub-orchestrations included, gets host.json's ``defaultVersion`` unless its
starter names a version; continue-as-new keeps the instance's version. Before an orchestrator runs,
its instance's version is matched against ``defaultVersion`` by ``versionMatchStrategy``:

* ``None``: any version runs.
* ``Strict``: only the same version (as text) runs.
* ``CurrentOrOlder`` (the default): versions up to ``defaultVersion`` run (``compare_versions``).

An instance that does not match is handled by ``versionFailureStrategy``: ``Reject`` (the default)
leaves it as it is, its messages queued, to be taken up by a host whose settings match (on devhost:
after a restart with a changed host.json); ``Fail`` fails it with a versioning error.
"""

from __future__ import annotations

from devhost.config.host_settings import HostSettings

FAILURE_MESSAGE = "Orchestration version did not comply with Worker Versioning"
FAILURE_TYPE = "VersionMismatch"


def _dotnet_version(text: str) -> tuple[int, ...] | None:
    """System.Version.TryParse: 2 to 4 dot-separated non-negative integers; missing parts are -1."""
    parts = text.split(".")
    if not 2 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        part = part.strip()
        if part.startswith("+"):
            part = part[1:]
        if not part.isdigit() or not part.isascii() or int(part) > 2**31 - 1:
            return None
        numbers.append(int(part))
    return tuple(numbers + [-1] * (4 - len(numbers)))


def compare_versions(source: str | None, other: str | None) -> int:
    """VersioningSettings.CompareVersions: negative, 0 or positive as ``source`` is older than, the same
    as or newer than ``other``. An empty version is older than any other; two that parse as
    System.Version compare by their numbers; others by case-insensitive ordinal text."""
    source_empty = source is None or not source.strip()
    other_empty = other is None or not other.strip()
    if source_empty and other_empty:
        return 0
    if source_empty:
        return -1
    if other_empty:
        return 1
    assert source is not None and other is not None
    a, b = _dotnet_version(source), _dotnet_version(other)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    x, y = source.upper(), other.upper()
    return (x > y) - (x < y)


def new_instance_version(settings: HostSettings, requested: str | None) -> str | None:
    """A new orchestration's version: the one its starter asked for, else ``defaultVersion``."""
    return requested if requested is not None else settings.default_version


def verdict(settings: HostSettings, version: str | None) -> str | None:
    """None when an instance of ``version`` may run here; else the failure strategy ("Reject", "Fail").

    As the extension (DTFx's VersioningSettings, which it always configures): without a defaultVersion
    the host's version is empty, older than any version, so under the default CurrentOrOlder an instance
    started with a version is rejected."""
    strategy = settings.version_match_strategy
    if strategy == "Strict":
        failed = (version or "") != (settings.default_version or "")
    elif strategy == "CurrentOrOlder":
        failed = compare_versions(version, settings.default_version) > 0
    else:
        failed = False
    return settings.version_failure_strategy if failed else None
