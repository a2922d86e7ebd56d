"""Which model service the agents talk to, chosen from the environment, and one client per service.

Selection (empty strings count as unset, because local.settings.json carries empty placeholders):

1. Azure OpenAI when ``AZURE_OPENAI_ENDPOINT`` (or ``AZURE_OPENAI_API_KEY``) is set. The deployment comes
   from the agent's ``model=`` or ``AZURE_OPENAI_DEPLOYMENT``; ``AZURE_OPENAI_API_VERSION`` defaults to
   ``DEFAULT_AZURE_API_VERSION``; authentication is ``AZURE_OPENAI_API_KEY`` or, without a key, Microsoft
   Entra ID through ``azure-identity``'s ``DefaultAzureCredential`` (managed identity in Azure, the
   Azure CLI login locally).
2. OpenAI, or any OpenAI-compatible server, when ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` is set. The model
   comes from the agent's ``model=`` or ``OPENAI_MODEL``; a base URL without a key is a keyless local server.
3. Otherwise the offline model (see ``offline.py``).

Model, deployment and api-version settings alone select nothing: they are defaults, which settings files
commonly carry; a provider is selected by where it is (endpoint, base URL) or by a key.

Clients disable the SDK's own retries (``max_retries=0``): the executor's ``RetryPolicy`` decides, so a
step's attempts are counted and spaced in one place. A client is created once per provider and event
loop (its connection pool belongs to the loop that opened it) and reused by every agent.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from openai import AsyncAzureOpenAI, AsyncOpenAI
from pydantic import BaseModel, ConfigDict, SecretStr

from engine.agents.errors import ProviderConfigurationError

OPENAI_BASE_URL_DEFAULT = "https://api.openai.com/v1"
# The GA Azure OpenAI data-plane version that supports json_schema structured output and tools.
DEFAULT_AZURE_API_VERSION = "2024-10-21"
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
# Sent as the bearer token to a keyless OpenAI-compatible server: the SDK insists on some key.
KEYLESS_PLACEHOLDER = "no-key"

HOW_TO_CONFIGURE = (
    "set OPENAI_API_KEY and OPENAI_MODEL for OpenAI; OPENAI_BASE_URL and OPENAI_MODEL (OPENAI_API_KEY if "
    "needed) for an OpenAI-compatible server; or AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_DEPLOYMENT "
    "(with AZURE_OPENAI_API_KEY, or Microsoft Entra ID when no key) for Azure OpenAI"
)


class OpenAIProvider(BaseModel):
    """OpenAI (``base_url`` unset) or an OpenAI-compatible server (``base_url`` set, key optional)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["openai"] = "openai"
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None

    def describe(self) -> str:
        if self.base_url is None:
            where = f"OpenAI ({OPENAI_BASE_URL_DEFAULT})"
        else:
            where = f"the OpenAI-compatible server at {self.base_url}"
        auth = "with an API key" if self.api_key else "without an API key"
        return f"agents use {where} {auth}, default model {_or_unset(self.model, 'OPENAI_MODEL')}"


class AzureOpenAIProvider(BaseModel):
    """Azure OpenAI: an endpoint, a deployment (the model), an API version, a key or Entra ID."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["azure"] = "azure"
    endpoint: str
    deployment: str | None = None
    api_version: str = DEFAULT_AZURE_API_VERSION
    api_key: SecretStr | None = None

    @property
    def model(self) -> str | None:
        return self.deployment

    def describe(self) -> str:
        auth = "API key" if self.api_key else "Microsoft Entra ID (DefaultAzureCredential)"
        return (
            f"agents use Azure OpenAI at {self.endpoint}, default deployment "
            f"{_or_unset(self.deployment, 'AZURE_OPENAI_DEPLOYMENT')}, api-version {self.api_version}, "
            f"auth: {auth}"
        )


class OfflineProvider(BaseModel):
    """The built-in offline model: deterministic, schema-valid answers (each offered tool called once)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["offline"] = "offline"

    @property
    def model(self) -> str:
        return "offline"

    def describe(self) -> str:
        return (
            "agents use the OFFLINE model: deterministic answers (each offered tool called once), no LLM is "
            "called. "
            f"To use a real model, {HOW_TO_CONFIGURE}"
        )


Provider = OpenAIProvider | AzureOpenAIProvider | OfflineProvider


def _or_unset(value: str | None, variable: str) -> str:
    return value if value else f"unset (set {variable} or pass model= to the agent)"


def _setting(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() or None if value is not None else None


def provider_from_env(env: Mapping[str, str] | None = None) -> Provider:
    """The provider the environment selects (``os.environ`` by default); see the module doc for the rules.

    Raises ``ProviderConfigurationError`` when the settings name a provider incompletely.
    """
    env = os.environ if env is None else env
    azure_endpoint = _setting(env, "AZURE_OPENAI_ENDPOINT")
    azure_key = _setting(env, "AZURE_OPENAI_API_KEY")
    if azure_endpoint or azure_key:
        if not azure_endpoint:
            raise ProviderConfigurationError(
                "AZURE_OPENAI_API_KEY is set but AZURE_OPENAI_ENDPOINT is not: set the endpoint "
                "(https://<resource>.openai.azure.com)"
            )
        return AzureOpenAIProvider(
            endpoint=azure_endpoint,
            deployment=_setting(env, "AZURE_OPENAI_DEPLOYMENT"),
            api_version=_setting(env, "AZURE_OPENAI_API_VERSION") or DEFAULT_AZURE_API_VERSION,
            api_key=SecretStr(azure_key) if azure_key else None,
        )
    openai_key = _setting(env, "OPENAI_API_KEY")
    base_url = _setting(env, "OPENAI_BASE_URL")
    if openai_key or base_url:
        return OpenAIProvider(
            base_url=base_url,
            api_key=SecretStr(openai_key) if openai_key else None,
            model=_setting(env, "OPENAI_MODEL"),
        )
    return OfflineProvider()


def describe_provider(env: Mapping[str, str] | None = None) -> str:
    """One line saying which provider agents will use, for an app to log at start-up."""
    try:
        return provider_from_env(env).describe()
    except ProviderConfigurationError as err:
        return f"agents are misconfigured: {err}"


# Clients are bound to the event loop whose connections they pool; the loop's death frees them.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Provider, _Entry]] = (
    weakref.WeakKeyDictionary()
)


class _Entry:
    __slots__ = ("client", "credential")

    def __init__(self, client: AsyncOpenAI, credential: Any | None) -> None:
        self.client = client
        self.credential = credential


def client_for(provider: OpenAIProvider | AzureOpenAIProvider) -> AsyncOpenAI:
    """The shared client for ``provider`` on the running event loop (created at first use)."""
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    entry = per_loop.get(provider)
    if entry is None:
        entry = _create(provider)
        per_loop[provider] = entry
    return entry.client


async def close_clients() -> None:
    """Close the clients (and Entra ID credentials) opened on the running loop, e.g. at app shutdown."""
    entries = _clients.pop(asyncio.get_running_loop(), {})
    for entry in entries.values():
        await entry.client.close()
        if entry.credential is not None:
            await entry.credential.close()


def _create(provider: OpenAIProvider | AzureOpenAIProvider) -> _Entry:
    # Every setting is passed explicitly: left out, the SDK would read OPENAI_BASE_URL, OPENAI_API_VERSION,
    # AZURE_OPENAI_AD_TOKEN... itself, and empty placeholders would then win over our defaults.
    if isinstance(provider, OpenAIProvider):
        if provider.api_key is None and provider.base_url is None:
            raise ProviderConfigurationError(f"OpenAI needs an API key: {HOW_TO_CONFIGURE}")
        key = provider.api_key.get_secret_value() if provider.api_key else KEYLESS_PLACEHOLDER
        client = AsyncOpenAI(
            api_key=key, base_url=provider.base_url or OPENAI_BASE_URL_DEFAULT, max_retries=0
        )
        return _Entry(client, None)
    if provider.api_key is not None:
        azure = AsyncAzureOpenAI(
            azure_endpoint=provider.endpoint,
            api_version=provider.api_version,
            api_key=provider.api_key.get_secret_value(),
            max_retries=0,
        )
        return _Entry(azure, None)
    credential, token_provider = _entra_token_provider()
    azure = AsyncAzureOpenAI(
        azure_endpoint=provider.endpoint,
        api_version=provider.api_version,
        azure_ad_token_provider=token_provider,
        max_retries=0,
    )
    return _Entry(azure, credential)


def _entra_token_provider() -> tuple[Any, Callable[[], Awaitable[str]]]:
    # Imported here: only keyless Azure deployments need azure-identity loaded.
    from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider

    credential = DefaultAzureCredential()
    return credential, get_bearer_token_provider(credential, ENTRA_SCOPE)
