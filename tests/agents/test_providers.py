"""Provider selection from the environment, and the start-up description."""

from __future__ import annotations

import pytest

from engine.agents import (
    DEFAULT_AZURE_API_VERSION,
    AzureOpenAIProvider,
    OfflineProvider,
    OpenAIProvider,
    ProviderConfigurationError,
    describe_provider,
    provider_from_env,
)


def test_nothing_configured_is_offline() -> None:
    assert provider_from_env({}) == OfflineProvider()
    placeholders = {
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": " ",
        "OPENAI_MODEL": "gpt-4o-mini",
        "AZURE_OPENAI_ENDPOINT": "",
        "AZURE_OPENAI_API_KEY": "",
        "AZURE_OPENAI_DEPLOYMENT": "gpt-4o",
        "AZURE_OPENAI_API_VERSION": "2024-10-21",
    }
    assert provider_from_env(placeholders) == OfflineProvider()


def test_openai() -> None:
    provider = provider_from_env({"OPENAI_API_KEY": "sk-1", "OPENAI_MODEL": "gpt-4o-mini"})
    assert isinstance(provider, OpenAIProvider)
    assert provider.base_url is None and provider.model == "gpt-4o-mini"
    assert provider.api_key is not None and provider.api_key.get_secret_value() == "sk-1"
    assert "sk-1" not in repr(provider)


def test_compatible_server_with_and_without_key() -> None:
    keyless = provider_from_env({"OPENAI_BASE_URL": "http://localhost:11434/v1"})
    assert keyless == OpenAIProvider(base_url="http://localhost:11434/v1")
    keyed = provider_from_env({"OPENAI_BASE_URL": "http://gw/v1", "OPENAI_API_KEY": "k", "OPENAI_MODEL": "m"})
    assert isinstance(keyed, OpenAIProvider) and keyed.api_key is not None and keyed.model == "m"


def test_azure() -> None:
    env = {"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "d"}
    provider = provider_from_env(env)
    assert provider == AzureOpenAIProvider(endpoint="https://r.openai.azure.com", deployment="d")
    assert provider.api_version == DEFAULT_AZURE_API_VERSION and provider.api_key is None


def test_azure_key_without_endpoint_is_an_error_not_offline() -> None:
    with pytest.raises(ProviderConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        provider_from_env({"AZURE_OPENAI_API_KEY": "k"})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "agents use the OFFLINE model: deterministic answers (each offered tool called once), no LLM"),
        (
            {"OPENAI_API_KEY": "sk", "OPENAI_MODEL": "gpt-4o-mini"},
            "agents use OpenAI (https://api.openai.com/v1) with an API key, default model gpt-4o-mini",
        ),
        (
            {"OPENAI_BASE_URL": "http://localhost:11434/v1"},
            "agents use the OpenAI-compatible server at http://localhost:11434/v1 without an API key, "
            "default model unset (set OPENAI_MODEL or pass model= to the agent)",
        ),
        (
            {"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "d"},
            "agents use Azure OpenAI at https://r.openai.azure.com, default deployment d, api-version "
            f"{DEFAULT_AZURE_API_VERSION}, auth: Microsoft Entra ID (DefaultAzureCredential)",
        ),
        ({"AZURE_OPENAI_API_KEY": "k"}, "agents are misconfigured: AZURE_OPENAI_API_KEY is set but"),
    ],
)
def test_describe_provider(env: dict[str, str], expected: str) -> None:
    assert describe_provider(env).startswith(expected)


def test_describe_provider_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk")
    assert describe_provider().startswith("agents use OpenAI")
