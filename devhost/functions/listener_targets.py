"""A function whose trigger devhost listens for itself (a queue, a blob container, a schedule), and how
a listener calls it: the trigger value converted as the worker converts it, the durable clients, and
the trigger's binding data for the function's other bindings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.functions import meta

from devhost.console import host_logs
from devhost.functions.function_retry_policy import RetryPolicy
from devhost.storage.storage_bindings import StorageSpec, binding_data
from devhost.worker.invocation import Invoker, Retry
from devhost.worker.value_conversions import annotations, decode


@dataclass
class ListenedFunction:
    """A function one of devhost's own listeners calls (timer, queue, blob), and how to call it."""

    name: str
    fn: Callable[..., Any]
    trigger_type: str  # queueTrigger | blobTrigger | timerTrigger
    trigger_param: str
    trigger: dict[str, Any]  # the trigger's function.json entry (queueName, path, schedule, ...)
    wants_context: bool
    client_params: list[str] = field(default_factory=list)
    # The user's own function, for its annotations (``fn`` may be devhost's wrapper around it).
    user_fn: Callable[..., Any] | None = None
    storage: list[StorageSpec] = field(default_factory=list)  # its blob / queue / table bindings
    retry: RetryPolicy | None = None  # @app.retry


async def invoke(
    invoker: Invoker,
    target: ListenedFunction,
    client_binding: Callable[[], str],
    data: meta.Datum,
    metadata: dict[str, meta.Datum],
    named: dict[str, Any],
    reason: str,
    retry: Retry | None = None,
) -> None:
    """Call the function for one trigger event; its exception propagates (the listener decides what a
    failure means: a message released or poisoned, a blob retried)."""
    hint = annotations(target.user_fn or target.fn).get(target.trigger_param)
    kwargs: dict[str, Any] = {target.trigger_param: decode(target.trigger_type, hint, data, metadata)}
    for client in target.client_params:
        kwargs[client] = client_binding()
    token = binding_data.set(named)
    try:
        await invoker.call(
            target.name, target.fn, kwargs, reason=reason, wants_context=target.wants_context, retry=retry
        )
    except Exception as exc:
        host_logs.logger.error("Function '%s' failed: %s: %s", target.name, type(exc).__name__, exc)
        raise
    finally:
        binding_data.reset(token)
