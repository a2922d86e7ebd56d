"""``AzureWebJobsStorage=UseDevelopmentStorage=true`` for the app's own Storage SDK calls.

Under ``func start`` the Durable extension keeps its task hub in that account, so an app written for it
has the developer run Azurite on its well-known ports (blob 10000, queue 10001, table 10002), which is
where every Storage SDK sends ``UseDevelopmentStorage=true``; the app's own Storage calls reach the same
emulator. devhost keeps its task hub in SQLite and needs no account, but the app's own calls still
do: without an emulator they retry for over a minute and fail. So when the setting names development
storage devhost runs Azurite on those well-known ports, where the setting already points (a client the
app built at import reaches it too). When something already listens there (an Azurite of the
developer's own, as for ``func start``), devhost starts none and says so; when Azurite is not installed,
it says that none runs and why. Storage bindings need Azurite in any case (``trigger_services``).
"""

from __future__ import annotations

import socket

from devhost.storage import storage_account
from devhost.storage.azurite import HOW_TO_GET

# blob, queue, table: where the Storage SDKs send UseDevelopmentStorage=true.
WELL_KNOWN_PORTS = (10000, 10001, 10002)
SETTING = storage_account.DEFAULT_CONNECTION


def app_uses_development_storage() -> bool:
    """Whether AzureWebJobsStorage (the app's own account) says UseDevelopmentStorage=true."""
    return storage_account.uses_development_storage(None)


def well_known_ports_free() -> bool:
    """Whether Azurite can take its well-known ports on 127.0.0.1 (none of them is listened on)."""
    for port in WELL_KNOWN_PORTS:
        with socket.socket() as probe:
            # As a listener binds (Node sets SO_REUSEADDR): a port left in TIME_WAIT by an emulator that
            # just stopped is free, one that is listened on is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def in_use_note() -> str:
    """The start-up line when the emulator's well-known ports are taken by something else."""
    ports = f"127.0.0.1:{WELL_KNOWN_PORTS[0]}-{WELL_KNOWN_PORTS[-1]}"
    return (
        f"{SETTING} is UseDevelopmentStorage=true and the Storage emulator's ports {ports} are already in "
        "use (an Azurite of your own?): devhost starts no Azurite, and the app's own Storage calls on that "
        "setting go to whatever listens there. devhost keeps durable state in SQLite, not in that account."
    )


def not_installed_note() -> str:
    """The start-up line when no Azurite is installed: the app's own Storage calls will fail."""
    return (
        f"{SETTING} is UseDevelopmentStorage=true, but Azurite, the Storage emulator, is not installed, so "
        "none runs: devhost keeps durable state in SQLite and needs none, but the app's own Storage calls on "
        f"that setting will fail (after retrying for over a minute). {HOW_TO_GET}"
    )
