"""Every instance of the task hub, page by page: the SDK's own list calls stop at the first page.

The Durable Functions extension answers an instance query a page at a time (100 by default) and names
the next page in the ``x-ms-continuation-token`` response header; azure-functions-durable 1.x's
``get_status_all`` / ``get_status_by`` read the first page only, so a runs list past 100 runs would be
cut short on Azure. This follows the tokens through the client binding's own endpoint (``rpcBaseUrl``).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

CONTINUATION = "x-ms-continuation-token"
PAGE_SIZE = 500
MAX_PAGES = 10_000  # a runaway token loop is a host bug: stop rather than spin


async def all_instances(
    client: df.DurableOrchestrationClient,
    runtime_status: list[df.OrchestrationRuntimeStatus] | None = None,
    *,
    page_size: int = PAGE_SIZE,
    show_input: bool = False,
) -> list[DurableOrchestrationStatus]:
    base = client._orchestration_bindings.rpc_base_url  # the binding's endpoint, as the SDK's calls use
    params: dict[str, Any] = {"top": str(page_size)}
    if show_input:
        params["showInput"] = "true"
    if runtime_status:
        params["runtimeStatus"] = ",".join(s.value for s in runtime_status)
    found: list[DurableOrchestrationStatus] = []
    token: str | None = None
    async with aiohttp.ClientSession() as session:
        for _ in range(MAX_PAGES):
            headers = {CONTINUATION: token} if token else {}
            async with session.get(f"{base}instances/", params=params, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(
                        f"the instance query answered {response.status}: {await response.text()}"
                    )
                page = await response.json(content_type=None)
                token = response.headers.get(CONTINUATION) or None
            found.extend(DurableOrchestrationStatus.from_json(item) for item in page or [])
            if not token:
                break
    return found
