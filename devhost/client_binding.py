"""The JSON the host hands to a `durable_client_input` parameter, and the management URLs in it."""

from __future__ import annotations

import json
from urllib.parse import quote

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask/"
ID_PLACEHOLDER = "INSTANCEID"


def query_suffix(hub: str, system_key: str | None) -> str:
    q = f"taskHub={quote(hub)}&connection=Storage"
    return q + (f"&code={quote(system_key)}" if system_key else "")


def management_urls(
    origin: str, hub: str, system_key: str | None, instance_id: str = ID_PLACEHOLDER
) -> dict[str, str]:
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


def client_binding_json(origin: str, hub: str, system_key: str | None) -> str:
    """Same keys as the real extension; rpcBaseUrl points at devhost's own (keyless) RPC endpoint."""
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
            "rpcBaseUrl": f"{origin}{RPC_PATH}",
        }
    )
