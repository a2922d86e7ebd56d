"""Which bindings devhost runs, and how it refuses the others.

devhost runs the HTTP trigger (and its ``http`` output), the Durable Functions triggers, the durable
client input, the timer trigger, the MCP tool trigger (the MCP extension's endpoints), and the Storage
bindings and triggers (blob input/output/trigger, queue
output/trigger, table input/output) through Azurite. Every other binding (Service Bus, Event Hubs, Cosmos
DB, Event Grid, SignalR, Twilio, SendGrid, ...) would need its service or an emulator devhost does not
have, so it names each at start-up, and a function that declares one is never called with a binding
silently missing: its invocation fails with an error naming the binding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RUN_TRIGGERS = frozenset(
    {
        "httpTrigger",
        "orchestrationTrigger",
        "activityTrigger",
        "entityTrigger",
        "timerTrigger",
        "queueTrigger",
        "blobTrigger",
        "mcpToolTrigger",
    }
)
# Bindings devhost provides beside a trigger it runs: the durable client, the Storage bindings (through
# Azurite or the account the connection names), and the HTTP response as the function's return value (an
# `http` output bound to a func.Out parameter is not passed).
RUN_BINDINGS = frozenset({"durableClient", "blob", "queue", "table"})
RETURN = "$return"
_DIRECTIONS = {0: "input", 1: "output", 2: "input/output"}


@dataclass(frozen=True)
class Refused:
    """A binding of a function that devhost does not run."""

    type: str
    name: str
    direction: str  # input | output | input/output | trigger

    def describe(self) -> str:
        """The binding as a message names it: ``serviceBusTrigger trigger 'msg'``."""
        what = "trigger" if self.direction == "trigger" else f"{self.direction} binding"
        return f"{self.type} {what} '{self.name}'"


def refused_bindings(bindings: list[Any], trigger_name: str) -> list[Refused]:
    """The bindings of a function, other than its trigger, that devhost does not run."""
    refused = []
    for binding in bindings:
        kind = str(binding.type)
        if binding.name == trigger_name and kind.endswith("Trigger"):
            continue
        if kind in RUN_BINDINGS or (kind == "http" and binding.name == RETURN):
            continue
        raw = getattr(binding, "direction", 0)
        direction = _DIRECTIONS.get(getattr(raw, "value", raw), "input")
        refused.append(Refused(kind, str(binding.name), direction))
    return refused


def refusal_message(function: str, refused: list[Refused]) -> str:
    """Why a function with bindings devhost does not run cannot be called, and what to do instead."""
    names = ", ".join(r.describe() for r in refused)
    return (
        f"Function '{function}' uses the {names}, which devhost does not run: devhost runs HTTP, timer, "
        "MCP tool, Durable Functions and Storage (blob, queue, table) triggers and bindings only. Run this "
        "function with Core Tools (func start) and the service or its emulator, or call the service's SDK "
        "from the function instead of the binding."
    )


class UnsupportedBindingError(RuntimeError):
    """Raised instead of calling a function with a binding devhost does not run."""


def refusing(function: str, refused: list[Refused]) -> Callable[..., Any]:
    """What devhost calls instead of the app's function: it fails with the message naming the bindings,
    wherever the function is invoked from (an HTTP request, an activity, an orchestration, an entity)."""
    message = refusal_message(function, refused)

    def refuse(**_bindings: Any) -> Any:
        raise UnsupportedBindingError(message)

    return refuse
