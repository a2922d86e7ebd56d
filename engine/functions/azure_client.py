"""azure-functions-durable's client as a ``DurableClient`` (``engine.durable.client``): the one module of the
HTTP layer that talks to the Durable Functions extension.

Two quirks of the SDK are smoothed here. Its status objects carry inputs as JSON text holding JSON
(``unwrapped`` reads either). Its instance queries (``get_status_all``, ``get_status_by``) read the first
page only, where the extension answers a page at a time (100 by default) and names the next page in the
``x-ms-continuation-token`` header; ``list_page`` follows the token through the client binding's own
endpoint (``rpcBaseUrl``), so a runs list past 100 runs is not cut short on Azure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import aiohttp
import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from engine.core.jsontext import unwrapped
from engine.durable.client import InstanceHistory, InstancePage, InstanceStatus, RefusedByBackend
from engine.durable.history import read_history
from engine.durable.phase import runtime_name

CONTINUATION = "x-ms-continuation-token"
PAGE_SIZE = 500


def instance_status(status: DurableOrchestrationStatus) -> InstanceStatus | None:
    """The SDK's status as ours (None: the extension knows no such instance)."""
    runtime = runtime_name(status)
    if runtime is None:
        return None
    return InstanceStatus(
        instance_id=str(status.instance_id),
        name=str(status.name),
        runtime=runtime,
        created=status.created_time,
        updated=status.last_updated_time,
        input=unwrapped(status.input_),
        output=status.output,
        custom_status=status.custom_status,
    )


class AzureDurableClient:
    """``DurableClient`` over the Functions binding's ``DurableOrchestrationClient``."""

    def __init__(self, sdk_client: df.DurableOrchestrationClient, *, page_size: int = PAGE_SIZE) -> None:
        self._sdk = sdk_client
        self._page_size = page_size

    async def start(self, name: str, instance_id: str | None, input_: Any) -> str:
        """Start orchestration ``name`` through the SDK's ``start_new``; its instance id."""
        return str(await self._sdk.start_new(name, instance_id, input_))

    async def status(self, instance_id: str, *, with_input: bool = False) -> InstanceStatus | None:
        """The instance's status through the SDK; None when there is no such instance."""
        return instance_status(await self._sdk.get_status(instance_id, show_input=with_input))

    async def history(self, instance_id: str) -> InstanceHistory | None:
        """The instance's status, input and current history (outputs included), in one status query."""
        # The extension answers a status with the current execution's whole history in one response.
        full = await self._sdk.get_status(
            instance_id, show_history=True, show_history_output=True, show_input=True
        )
        status = instance_status(full)
        return InstanceHistory(status, read_history(full)) if status is not None else None

    async def raise_event(self, instance_id: str, name: str, data: Any) -> None:
        """Raise event ``name`` to the instance; ``RefusedByBackend`` (the extension's answer) if refused."""
        try:
            await self._sdk.raise_event(instance_id, name, data)
        except Exception as exc:  # the SDK raises a bare Exception with the extension's answer
            raise RefusedByBackend(str(exc)) from exc

    async def terminate(self, instance_id: str, reason: str) -> None:
        """Terminate the instance, recording ``reason``."""
        await self._sdk.terminate(instance_id, reason)

    async def rewind(self, instance_id: str, reason: str) -> None:
        """Rewind a failed instance; ``RefusedByBackend`` (the extension's answer) if refused."""
        try:
            await self._sdk.rewind(instance_id, quote(reason))  # the SDK puts it in the query as it is
        except Exception as exc:
            raise RefusedByBackend(str(exc)) from exc

    async def purge(self, instance_id: str) -> None:
        """Purge the instance's history from the task hub."""
        await self._sdk.purge_instance_history(instance_id)

    async def list_page(
        self,
        statuses: Sequence[str] = (),
        *,
        continuation: str | None = None,
        with_input: bool = False,
        prefix: str | None = None,
    ) -> InstancePage:
        """One page of instances from the binding's own endpoint, and the continuation token of the next."""
        base = self._sdk._orchestration_bindings.rpc_base_url  # the binding's endpoint, as the SDK's use
        params: dict[str, Any] = {"top": str(self._page_size)}
        if with_input:
            params["showInput"] = "true"
        if statuses:
            params["runtimeStatus"] = ",".join(statuses)
        if prefix:
            params["instanceIdPrefix"] = prefix
        headers = {CONTINUATION: continuation} if continuation else {}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base}instances/", params=params, headers=headers) as response,
        ):
            if response.status != 200:
                raise RuntimeError(f"the instance query answered {response.status}: {await response.text()}")
            page = await response.json(content_type=None)
            token = response.headers.get(CONTINUATION) or None
        found = [instance_status(DurableOrchestrationStatus.from_json(item)) for item in page or []]
        return InstancePage([s for s in found if s is not None], token)

    def management_links(self, instance_id: str) -> dict[str, str]:
        """The extension's management URLs for the instance (status, raise event, terminate, ...)."""
        return dict(self._sdk.create_http_management_payload(instance_id))


__all__ = ["AzureDurableClient", "instance_status"]
