"""The JSON the host hands to a `durable_client_input` parameter, and the management URLs in it."""

from __future__ import annotations

import contextlib
import importlib
import json
from urllib.parse import quote

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
# The SDK client's durable API (the binding's rpcBaseUrl), as the extension's local RPC endpoint: served on
# devhost's internal listener only (127.0.0.1, a port of its own), under a secret of the process.
RPC_PATH = "/durabletask/"
ID_PLACEHOLDER = "INSTANCEID"


def query_suffix(hub: str, system_key: str | None) -> str:
    """The query every management URL carries: the task hub, the connection, and the system key if any."""
    q = f"taskHub={quote(hub)}&connection=Storage"
    return q + (f"&code={quote(system_key)}" if system_key else "")


def management_urls(
    origin: str, hub: str, system_key: str | None, instance_id: str = ID_PLACEHOLDER
) -> dict[str, str]:
    """The extension's management URLs of one instance, or with the INSTANCEID placeholder the client
    binding's JSON carries."""
    base = f"{origin}{WEBHOOK_PATH}/instances/{instance_id}"
    q = query_suffix(hub, system_key)
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{base}?{q}",
        "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{q}",
        "terminatePostUri": f"{base}/terminate?reason={{text}}&{q}",
        "rewindPostUri": f"{base}/rewind?reason={{text}}&{q}",
        "purgeHistoryDeleteUri": f"{base}?{q}",
        "restartPostUri": f"{base}/restart?{q}",
        "suspendPostUri": f"{base}/suspend?reason={{text}}&{q}",
        "resumePostUri": f"{base}/resume?reason={{text}}&{q}",
    }


def client_binding_json(origin: str, hub: str, system_key: str | None, rpc_base_url: str) -> str:
    """Same keys as the real extension: the management URLs on the public port (``origin``, with the
    system key when keys are required), and ``rpcBaseUrl``, devhost's internal listener the SDK client
    calls for everything it does."""
    q = query_suffix(hub, system_key)
    return json.dumps(
        {
            "taskHubName": hub,
            "creationUrls": {
                "createNewInstancePostUri": (
                    f"{origin}{WEBHOOK_PATH}/orchestrators/{{functionName}}[/{{instanceId}}]?{q}"
                ),
                "createAndWaitOnNewInstancePostUri": (
                    f"{origin}{WEBHOOK_PATH}/orchestrators/{{functionName}}[/{{instanceId}}]"
                    f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{q}"
                ),
            },
            "managementUrls": management_urls(origin, hub, system_key),
            "baseUrl": f"{origin}{WEBHOOK_PATH}",
            "requiredQueryStringParameters": q,
            "rpcBaseUrl": rpc_base_url,
        }
    )


async def close_sdk_client_session() -> None:
    """Close the aiohttp session the SDK's DurableOrchestrationClient keeps for the whole process.

    azure-functions-durable opens it on a client's first call and shares it between invocations; no
    worker hook closes it, so aiohttp reports "Unclosed client session" when the process ends. devhost
    closes it when it stops (the next host in the same process opens a new one on demand).
    """
    try:
        http_utils = importlib.import_module("azure.durable_functions.models.utils.http_utils")
    except ImportError:  # an SDK without the shared session
        return
    close = getattr(http_utils, "_close_session", None)
    if close is not None:
        # A session some app opened on another loop cannot be closed from this one: leave it.
        with contextlib.suppress(RuntimeError):
            await close()
