"""Runs started around the workflow API (the Durable management API, a client binding, another tool).

Such a start may carry a bare message, or an input without ``signed_answers``, ``strict_answers`` or a
``run_nonce``. Read as it stands, the missing flags would make the run accept unsigned envelopes as a
person's answer (the reading kept for runs from before answers were signed), and links for a purged run
of the same id would still name no nonce. So the current code never reads a new run that way:

- In the first episode of a run's first execution (``is_replaying`` is false before the orchestrator has
  asked for anything: nothing of the run is recorded yet), an input that lacks any of those is *admitted*:
  the run continues as new at once with the input a start through the workflow API writes (the message,
  the version it runs on, strict and signed answers, and a nonce derived from its instance id and the
  episode's time). Continue-as-new records the decision, so later replays never decide again.
- A first execution that is already replaying when it lacks them was started, and its first episode run,
  by code from before those existed: it keeps the reading its recorded answers were accepted by.

Deterministic: the decision reads only the context's input, its replay flag and its clock.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import ValidationError

from engine.core.graph import Workflow
from engine.core.jsontext import unwrapped
from engine.durable.checkpoint import OrchestratorInput
from engine.durable.context import OrchestrationContext

# The keys a start through the workflow API always writes: an input with "input" or "checkpoint" is read
# as an OrchestratorInput; anything else is the workflow's message itself.
_WRAPPED = ("input", "checkpoint")


def started_input(raw: Any) -> OrchestratorInput:
    """An execution's input as the orchestrator reads it: the workflow API's wrapper, or a bare message
    (a start that bypassed the API) as the wrapper around it."""
    if isinstance(raw, dict) and any(key in raw for key in _WRAPPED):
        return OrchestratorInput.model_validate(raw)
    return OrchestratorInput(input=raw)


def run_nonce_in(raw: Any) -> str | None:
    """The run nonce an execution's input carries (as the status or the history has it, JSON text or
    decoded); None when it carries none or is not a run's input."""
    try:
        return started_input(unwrapped(raw)).run_nonce
    except ValidationError:
        return None


def needs_admission(started: OrchestratorInput, context: OrchestrationContext) -> bool:
    """Whether this execution is the first episode of a run started around the workflow API."""
    complete = started.signed_answers and started.strict_answers and started.run_nonce is not None
    return started.checkpoint is None and not complete and not context.is_replaying


def admitted(
    started: OrchestratorInput, workflow: Workflow, context: OrchestrationContext, continue_every: int
) -> OrchestratorInput:
    """The input a start through the workflow API would have written for this run (``continue_every``:
    the app's setting)."""
    seed = f"{context.instance_id}\x00{context.current_utc_datetime.isoformat()}"
    return OrchestratorInput.start(
        started.input,
        workflow=workflow,
        traceparent=started.traceparent,
        run_nonce=hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32],
        continue_every=continue_every,
    )


def child_run_nonce(parent: OrchestratorInput, child_instance_id: str, context: OrchestrationContext) -> str:
    """A sub-workflow run's nonce: new for every run of the parent (its nonce, or for a run from before
    nonces, the time it starts the child), and the same on every replay."""
    seed = f"{parent.run_nonce or context.current_utc_datetime.isoformat()}\x00{child_instance_id}"
    return hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]


__all__ = ["admitted", "child_run_nonce", "needs_admission", "run_nonce_in", "started_input"]
