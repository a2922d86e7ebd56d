"""How an agent call fails, in the two kinds the runner understands.

Transient failures (rate limits, server errors, timeouts, dropped connections) are ``TransientError``s, so
the step is tried again under the executor's ``RetryPolicy``; everything a retry cannot fix (a bad
request, a rejected key, a missing deployment, an answer that does not fit the output model, a
misconfiguration) is a ``NonRetryableError``. Every message starts with
``agent '<id>' (model <model>):`` so a failed step says which agent and which model at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from engine.core.retry import NonRetryableError, TransientError


@dataclass(frozen=True, slots=True)
class AgentRef:
    """Which agent, on which model: the prefix of every agent error message."""

    agent_id: str
    model: str | None

    def __str__(self) -> str:
        return f"agent {self.agent_id!r} (model {self.model or 'unset'})"


class ProviderConfigurationError(NonRetryableError):
    """The environment names a provider but not completely (or contradicts itself)."""


class AgentTransientError(TransientError):
    """A call that may succeed if tried again: HTTP 408/409/429/5xx, a timeout, a dropped connection."""

    def __init__(
        self,
        ref: AgentRef,
        detail: str,
        *,
        status_code: int | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(f"{ref}: {detail}", retry_after=retry_after)
        self.agent_id = ref.agent_id
        self.model = ref.model
        self.status_code = status_code


class AgentFailure(NonRetryableError):
    """Base of the agent failures that another attempt would only repeat."""

    def __init__(self, ref: AgentRef, detail: str) -> None:
        super().__init__(f"{ref}: {detail}")
        self.agent_id = ref.agent_id
        self.model = ref.model


class AgentConfigurationError(AgentFailure):
    """No usable provider or model: fix the environment (or the agent's ``model=``)."""


class AgentRequestError(AgentFailure):
    """The provider refused the request (HTTP 400, 401, 403, 404, 422, ...)."""

    def __init__(self, ref: AgentRef, detail: str, *, status_code: int | None) -> None:
        super().__init__(ref, detail)
        self.status_code = status_code


class AgentOutputError(AgentFailure):
    """The model's answer is missing, refused, truncated, or does not validate against the output model."""

    def __init__(self, ref: AgentRef, detail: str, *, output: str | None = None) -> None:
        super().__init__(ref, detail)
        self.output = output


class AgentToolLoopError(AgentFailure):
    """The model kept calling tools past ``max_tool_rounds``."""


# Listed in the agent's RetryPolicy.non_retryable too, so ``engine.core.retry.classify`` refuses to retry
# them even when a subclass does not derive from NonRetryableError.
NON_RETRYABLE: tuple[type[BaseException], ...] = (
    ProviderConfigurationError,
    AgentConfigurationError,
    AgentRequestError,
    AgentOutputError,
    AgentToolLoopError,
)
