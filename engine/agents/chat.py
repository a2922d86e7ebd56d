"""One chat-completions call: timed, metered, and with every failure mapped to the runner's two kinds."""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletion

from engine.agents.errors import AgentConfigurationError, AgentRef, AgentRequestError, AgentTransientError
from engine.agents.streaming import gather_stream
from engine.core.streams import StreamWriter
from engine.telemetry.genai import ChatTrace, chat_trace

# Statuses a retry can cure: the ones the openai SDK itself would retry (it is told not to, see providers).
_TRANSIENT_STATUS = frozenset({408, 409, 429})


@dataclass(slots=True)
class Usage:
    """Tokens and latency of one model call (``complete`` meters into it); the step's totals are kept by
    the agent loop (``engine.agents.loop_state.Usage``)."""

    model: str
    provider: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    latency_ms: list[int] = field(default_factory=list)

    def add(self, completion: ChatCompletion | None, latency_ms: int) -> None:
        self.calls += 1
        self.latency_ms.append(latency_ms)
        usage = completion.usage if completion is not None else None
        if usage is not None:  # OpenAI-compatible servers may leave it out
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens
            self.total_tokens += usage.total_tokens


async def complete(
    client: AsyncOpenAI,
    request: dict[str, Any],
    *,
    timeout: timedelta,
    ref: AgentRef,
    usage: Usage,
    writer: StreamWriter,
) -> ChatCompletion:
    """``client.chat.completions.create(**request, stream=True)`` within ``timeout``, counted in ``usage``,
    its text written to ``writer`` as it arrives (``engine.agents.streaming``).

    Raises ``AgentTransientError`` for what a retry may cure and ``AgentRequestError`` /
    ``AgentConfigurationError`` for what it would only repeat.
    """
    seconds = timeout.total_seconds()
    started = time.perf_counter()
    completion: ChatCompletion | None = None
    try:
        with _traced(client, request, ref, usage) as call:
            # The SDK's timeout bounds each network phase; asyncio.timeout bounds the whole call, so a
            # server trickling bytes cannot hold the step beyond its per-call budget.
            async with asyncio.timeout(seconds):
                chunks = await client.chat.completions.create(
                    **request, stream=True, stream_options={"include_usage": True}, timeout=seconds
                )
                completion = await gather_stream(chunks, writer)
            _answered(call, completion)
    except TimeoutError as err:
        raise AgentTransientError(ref, f"no answer within the per-call timeout of {seconds:g}s") from err
    except openai.APIStatusError as err:
        raise _status_error(err, ref) from err
    except openai.APITimeoutError as err:
        raise AgentTransientError(ref, f"no answer within the per-call timeout of {seconds:g}s") from err
    except openai.APIConnectionError as err:
        raise AgentTransientError(ref, f"cannot reach the model service: {_cause(err)}") from err
    except Exception as err:
        mapped = _credential_error(err, ref)
        if mapped is None:
            raise
        raise mapped from err
    finally:
        usage.add(completion, round((time.perf_counter() - started) * 1000))
    return completion


def _traced(client: AsyncOpenAI, request: dict[str, Any], ref: AgentRef, usage: Usage) -> ChatTrace | Any:
    url = client.base_url
    return chat_trace(
        provider=usage.provider,
        model=str(request.get("model") or usage.model),
        agent=ref.agent_id,
        temperature=request.get("temperature"),
        server_address=url.host,
        server_port=url.port,
    )


def _answered(call: ChatTrace | Any, completion: ChatCompletion) -> None:
    usage = completion.usage
    call.answered(
        response_id=completion.id,
        response_model=completion.model,
        finish_reasons=[str(c.finish_reason) for c in completion.choices if c.finish_reason],
        input_tokens=usage.prompt_tokens if usage is not None else None,
        output_tokens=usage.completion_tokens if usage is not None else None,
    )


def _status_error(err: openai.APIStatusError, ref: AgentRef) -> Exception:
    status = err.status_code
    detail = f"HTTP {status} from the model service: {_message(err)}"
    if status in _TRANSIENT_STATUS or status >= 500:
        return AgentTransientError(
            ref, detail, status_code=status, retry_after=retry_after(err.response.headers)
        )
    hint = {
        401: " (check the API key)",
        403: " (the key or identity lacks access to this model)",
        404: " (check the model or deployment name, and the base URL)",
    }.get(status, "")
    return AgentRequestError(ref, detail + hint, status_code=status)


def _message(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
    return err.message


def _cause(err: BaseException) -> str:
    cause = err.__cause__ or err.__context__
    return f"{err} ({cause})" if cause is not None else str(err)


def _credential_error(err: Exception, ref: AgentRef) -> Exception | None:
    """Entra ID failures surface from azure-identity inside the SDK's request preparation."""
    try:
        from azure.core.exceptions import ClientAuthenticationError
        from azure.identity import CredentialUnavailableError
    except ImportError:  # azure-identity is only needed for keyless Azure OpenAI
        return None
    if isinstance(err, CredentialUnavailableError):
        return AgentConfigurationError(
            ref, f"no Microsoft Entra ID credential is available ({err}); set AZURE_OPENAI_API_KEY or sign in"
        )
    if isinstance(err, ClientAuthenticationError):
        return AgentTransientError(ref, f"getting a Microsoft Entra ID token failed: {err}")
    return None


def retry_after(headers: Any) -> timedelta | None:
    """The wait a server asks for: ``retry-after-ms`` (Azure, OpenAI), else ``Retry-After``."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return timedelta(milliseconds=max(float(millis), 0.0))
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return timedelta(seconds=max(float(value), 0.0))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - datetime.now(UTC), timedelta(0))
